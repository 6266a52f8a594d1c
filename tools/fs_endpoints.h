/* `rpmsg fs endpoints`: the endpoint view (cmd_fs_endpoints.c). */
#ifndef RPMSG_TOOLS_FS_ENDPOINTS_H
#define RPMSG_TOOLS_FS_ENDPOINTS_H

/* argv[0] is "endpoints"; returns the exit code. */
int fs_endpoints_main(int argc, char **argv);

#endif
