/*
 * so_clock.h: the monotonic clock every timer and deadline of Shipoff is
 * measured on.  It only moves forward: a change of the wall clock (NTP, an
 * operator) neither fires a timer early nor holds one back.  In lib so the
 * builder's worker child and the daemon's loop share it without the one
 * including the other.
 */

#ifndef SO_CLOCK_H
#define SO_CLOCK_H

#include <stdint.h>

/* milliseconds since an arbitrary point (the boot): for differences only */
int64_t so_now_ms(void);

#endif /* SO_CLOCK_H */
