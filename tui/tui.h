/* SPDX-License-Identifier: MIT */
/* The live view: a dnstop/top-like ncurses screen redrawn every second from the published
 * snapshot (never from the live tables). Runs in a thread of its own; 'q' sets *stop. */
#ifndef DV_TUI_TUI_H
#define DV_TUI_TUI_H

#include "../analyze/snapshot.h"

#include <stdatomic.h>
#include <stdbool.h>

struct tui_opts {
    struct snap_pub *pub;
    atomic_bool *stop;    /* set when the user quits; the view also ends when it is set */
    atomic_bool *hung_up; /* set (with stop) when the terminal went away */
};

/* Runs the view until the user quits, the terminal goes away or *stop is set. Returns 0, or -1 if
 * the terminal cannot be used. */
int tui_run(const struct tui_opts *o);

#endif
