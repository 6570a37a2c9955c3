/* qr-progress.h: a worker's progress onto a GtkProgressBar, for the dialogs that run a job on a
 * thread (import, export). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* From any thread: the bar shows done / total once the main loop runs (queued, never run in the
 * caller: GTK belongs to the main thread). The bar is kept alive until then. */
void qr_progress_post (GtkProgressBar *bar,
                       guint64         done,
                       guint64         total);

G_END_DECLS
