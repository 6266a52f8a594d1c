/* The `rpmsg` command line: one subcommand per file (tools/cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "tools.h"

static const struct rpmsg_tool_cmd *const cmds[] = {
    &rpmsg_cmd_demo,
    &rpmsg_cmd_echo,
    &rpmsg_cmd_fs,
    &rpmsg_cmd_line,
    &rpmsg_cmd_ping,
    &rpmsg_cmd_sim,
    &rpmsg_cmd_simctl,
    &rpmsg_cmd_sock,
};

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(f, "  %-8s %s\n", cmds[i]->name, cmds[i]->summary);
    fprintf(f, "\n`rpmsg COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i]->name))
            return cmds[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "rpmsg: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
