/* t_exit.c — WASI guest test: proc_exit's code becomes the exit status (42 here), output written
 * before it is kept, and atexit handlers run. EXIT: 42 */
#include "common.h"

static void bye(void) { printf("atexit ran\n"); fflush(stdout); }

int main(void)
{
    atexit(bye);
    printf("before exit\n");
    printf("DONE ok\n");
    exit(42);
}
