/* SPDX-License-Identifier: MIT */
/* `dnsvigil watch`: the live sensor (watch.c). */
#ifndef DV_WATCH_H
#define DV_WATCH_H

/* Runs the watch command (argv[0] is "watch"); returns the exit status. */
int cmd_watch(int argc, char **argv);

#endif
