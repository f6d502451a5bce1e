/* The two clocks: monotonic for durations, wall for timestamps. */
#include <criterion/criterion.h>
#include <time.h>
#include <unistd.h>

#include "now.h"

Test(now, the_monotonic_clock_moves_forward_with_time)
{
    int64_t a = now_mono_us();
    usleep(20000);
    int64_t b = now_mono_us();
    cr_assert_geq(b - a, 20000);
    cr_assert_lt(b - a, 2000000);
}

Test(now, the_wall_clock_is_microseconds_since_the_epoch)
{
    int64_t us = now_wall_us();
    time_t s = time(NULL);
    int64_t diff = us / 1000000 - (int64_t)s;
    cr_assert(diff >= -1 && diff <= 1, "%lld s apart from time()", (long long)diff);
}
