/* qr-window.h: Quorum's main window: a collection's gallery, a simple viewer, and the job bar
 * that shows background work (indexing, thumbnails) with progress, rate and cancel. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define QR_TYPE_WINDOW (qr_window_get_type ())
G_DECLARE_FINAL_TYPE (QrWindow, qr_window, QR, WINDOW, AdwApplicationWindow)

/* settings may be NULL (no schema installed): nothing is remembered then. */
QrWindow   *qr_window_new              (GtkApplication *application,
                                        GSettings      *settings);
/* Opens the collection at dir (its catalog under the XDG data folder), shows what the catalog
 * already knows at once, then re-indexes and makes thumbnails in the background. */
gboolean    qr_window_open_collection  (QrWindow       *self,
                                        const char     *dir,
                                        GError        **error);
const char *qr_window_get_collection   (QrWindow       *self);
/* TRUE while a background job runs. */
gboolean    qr_window_is_busy          (QrWindow       *self);
/* The main loop's longest stall (µs) during the last background job that finished. */
gint64     qr_window_get_last_job_stall_us (QrWindow *self);
/* The gallery's grid (benchmarks drive its scrolling). */
GtkWidget *qr_window_get_grid_view  (QrWindow       *self);
GListModel *qr_window_get_images       (QrWindow       *self);
/* The image in the viewer, -1 when the viewer is not shown. */
gint64      qr_window_get_viewer_image (QrWindow       *self);
/* The text of the last toast shown (by the window or its pages), NULL before the first. */
const char *qr_window_get_last_toast   (QrWindow       *self);
/* An action and its keys (NULL-terminated), in a table ending with a NULL action: what the
 * application sets as accelerators (qr_window_get_accels). */
typedef struct
{
  const char *action;
  const char *keys[3];
} QrWindowAccel;

const QrWindowAccel *qr_window_get_accels (void);

/* Cancels every window's background work and waits (30 s at most) for it to return: before
 * quitting, so no worker outlives what it uses. */
void        qr_window_stop_workers     (void);

G_END_DECLS
