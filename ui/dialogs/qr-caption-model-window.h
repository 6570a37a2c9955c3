/* qr-caption-model-window.h: the Caption Model window (Ctrl+Shift+T, "Train Caption Model…"): the
 * model the collection uses (when it was trained, on how many captions, its held-out recall), a
 * plot of each epoch's training loss and held-out recall@5, and Train / Resume / Start Over with the
 * number of epochs. Training itself is the window's background job (win.train-caption-model, with
 * its progress in the job bar and win.cancel-job to stop it); this window follows it epoch by epoch
 * from the catalog, where every finished epoch is saved. */
#pragma once

#include <adwaita.h>
#include "qr-catalog.h"

G_BEGIN_DECLS

#define QR_TYPE_CAPTION_MODEL_WINDOW (qr_caption_model_window_get_type ())
G_DECLARE_FINAL_TYPE (QrCaptionModelWindow, qr_caption_model_window, QR, CAPTION_MODEL_WINDOW, AdwWindow)

QrCaptionModelWindow *qr_caption_model_window_new     (GtkWindow            *parent,
                                                       QrCatalog            *catalog);
/* Reads the catalog again. busy: a training job runs; status: what it is doing (NULL: nothing). */
void                  qr_caption_model_window_refresh (QrCaptionModelWindow *self,
                                                       gboolean              busy,
                                                       const char           *status);
/* What the window says about the model, and the epochs plotted (for tests). */
const char           *qr_caption_model_window_get_summary (QrCaptionModelWindow *self);
guint                 qr_caption_model_window_get_n_epochs (QrCaptionModelWindow *self);

G_END_DECLS
