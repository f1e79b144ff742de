/* The wall clock, for times that are stored and compared across processes
 * (the loop's clock, loop_now_ms(), is monotonic and per process). */
#ifndef CORE_CLOCK_H
#define CORE_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_wall_ms(void);

#endif
