/* qr-stall-monitor.c: the main loop's stalls measured (qr-stall-monitor.h): a 5 ms timer whose
 * late ticks are the stalls, for the job bar's debug line and the gallery benchmark. */
#include "qr-stall-monitor.h"

#define INTERVAL_MS 5

struct _QrStallMonitor
{
  guint  source;
  gint64 last_us;
  gint64 longest_us;
  guint  over_50ms;
};

static gboolean
tick (gpointer data)
{
  QrStallMonitor *self = data;
  gint64 now = g_get_monotonic_time ();
  gint64 stall = now - self->last_us - INTERVAL_MS * 1000;

  if (stall > self->longest_us)
    self->longest_us = stall;
  if (stall > 50000)
    self->over_50ms++;
  self->last_us = now;
  return G_SOURCE_CONTINUE;
}

QrStallMonitor *
qr_stall_monitor_new (void)
{
  QrStallMonitor *self = g_new0 (QrStallMonitor, 1);
  self->last_us = g_get_monotonic_time ();
  self->source = g_timeout_add (INTERVAL_MS, tick, self);
  return self;
}

gint64
qr_stall_monitor_get_longest_us (QrStallMonitor *self)
{
  return MAX (self->longest_us, 0);
}

guint
qr_stall_monitor_get_n_over_50ms (QrStallMonitor *self)
{
  return self->over_50ms;
}

void
qr_stall_monitor_free (QrStallMonitor *self)
{
  if (self == NULL)
    return;
  g_source_remove (self->source);
  g_free (self);
}
