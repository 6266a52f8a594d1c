/* keeps the helper library non-empty */
typedef int rpmsg_test_common_empty;
