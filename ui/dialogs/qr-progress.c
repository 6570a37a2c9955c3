/* qr-progress.c: see qr-progress.h. */
#include "qr-progress.h"

typedef struct
{
  GtkProgressBar *bar;
  double          fraction;
} Progress;

static void
progress_free (gpointer data)
{
  Progress *p = data;
  g_object_unref (p->bar);
  g_free (p);
}

static gboolean
apply_progress (gpointer data)
{
  Progress *p = data;
  gtk_progress_bar_set_fraction (p->bar, p->fraction);
  return G_SOURCE_REMOVE;
}

void
qr_progress_post (GtkProgressBar *bar, guint64 done, guint64 total)
{
  Progress *p = g_new (Progress, 1);

  p->bar = g_object_ref (bar);
  p->fraction = total > 0 ? (double) done / (double) total : 0;
  /* queued, never run here: g_main_context_invoke may run it in this worker when the main loop is
   * not iterating at that instant */
  g_idle_add_full (G_PRIORITY_DEFAULT, apply_progress, p, progress_free);
}
