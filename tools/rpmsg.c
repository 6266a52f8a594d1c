/* The `rpmsg` command line: one subcommand per file (tools/cmd_*.c). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "opt.h"
#include "tools.h"

static const struct rpmsg_tool_cmd *const cmds[] = {
    &rpmsg_cmd_bench,
    &rpmsg_cmd_demo,
    &rpmsg_cmd_echo,
    &rpmsg_cmd_fs,
    &rpmsg_cmd_line,
    &rpmsg_cmd_list,
    &rpmsg_cmd_ping,
    &rpmsg_cmd_sim,
    &rpmsg_cmd_simctl,
    &rpmsg_cmd_sock,
    &rpmsg_cmd_trace,
};

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(f, "  %-8s %s\n", cmds[i]->name, cmds[i]->summary);
    fprintf(f, "\n`rpmsg COMMAND --help` describes a command's options; --version, on any\n"
               "command, prints the version. Exit codes: 0 done, 1 a runtime failure (no\n"
               "peer, a failed check, a dead link), 2 a bad command line.\n");
}

/* --version anywhere before "--", on the tool or on any command: one place
 * answers it for all of them. */
static bool wants_version(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--version"))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (wants_version(argc, argv)) {
        printf("rpmsg %s\n", RPMSG_TOOL_VERSION);
        return TOOL_OK;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? TOOL_USAGE : TOOL_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i]->name)) {
            /* getopt's own messages start with argv[0]: "rpmsg CMD: ", like ours. */
            static char name[64];
            snprintf(name, sizeof(name), "rpmsg %s", cmds[i]->name);
            tool_cmd = cmds[i]->name;
            argv[1] = name;
            return cmds[i]->run(argc - 1, argv + 1);
        }
    fprintf(stderr, "rpmsg: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return TOOL_USAGE;
}
