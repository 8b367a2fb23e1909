/*
 * stamp: prints the wall-clock instant it started, in microseconds since the epoch, and exits.
 * As the command of a job type it tells when a run's process really began (B6: submit to task
 * start); sked stores the line in the run's log.
 */
#include <stdio.h>
#include <time.h>

int main(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("%lld\n", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    return 0;
}
