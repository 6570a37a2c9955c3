/* qr-stall-monitor.h: how long the main loop was kept from running. A 5 ms timeout on the
 * default main context notes every gap between its wake-ups; a gap beyond 5 ms is a stall — a
 * callback, a layout or a draw that held the loop. Used while background jobs run (logged in
 * debug mode) and by `quorum bench gallery`. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _QrStallMonitor QrStallMonitor;

QrStallMonitor *qr_stall_monitor_new            (void);
/* The longest stall seen so far, in microseconds, and how many passed 50 ms. */
gint64          qr_stall_monitor_get_longest_us (QrStallMonitor *self);
guint           qr_stall_monitor_get_n_over_50ms (QrStallMonitor *self);
void            qr_stall_monitor_free           (QrStallMonitor *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrStallMonitor, qr_stall_monitor_free)

G_END_DECLS
