/* Subcommands of the `rpmsg` tool. */
#ifndef RPMSG_TOOLS_H
#define RPMSG_TOOLS_H

struct rpmsg_tool_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
};

extern const struct rpmsg_tool_cmd rpmsg_cmd_bench;
extern const struct rpmsg_tool_cmd rpmsg_cmd_demo;
extern const struct rpmsg_tool_cmd rpmsg_cmd_echo;
extern const struct rpmsg_tool_cmd rpmsg_cmd_fs;
extern const struct rpmsg_tool_cmd rpmsg_cmd_line;
extern const struct rpmsg_tool_cmd rpmsg_cmd_list;
extern const struct rpmsg_tool_cmd rpmsg_cmd_ping;
extern const struct rpmsg_tool_cmd rpmsg_cmd_sim;
extern const struct rpmsg_tool_cmd rpmsg_cmd_simctl;
extern const struct rpmsg_tool_cmd rpmsg_cmd_sock;
extern const struct rpmsg_tool_cmd rpmsg_cmd_trace;

#endif
