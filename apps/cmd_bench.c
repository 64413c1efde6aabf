/* Placeholder: the lead replaces this file with the real "iotls bench". */
#include <stdio.h>

#include "cmds.h"

int cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "iotls bench: not yet implemented\n");
    return 2;
}
