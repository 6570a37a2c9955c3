/* qr-eval-window.h: the Evaluation window (Ctrl+I): each peer's mAP, precision and recall against
 * the reviewed labels (or every label), the peers' agreement matrix and the histogram of
 * label-mistake scores, plotted with cairo. */
#pragma once

#include <adwaita.h>
#include "qr-catalog.h"
#include "qr-evaluation.h"

G_BEGIN_DECLS

#define QR_TYPE_EVAL_WINDOW (qr_eval_window_get_type ())
G_DECLARE_FINAL_TYPE (QrEvalWindow, qr_eval_window, QR, EVAL_WINDOW, AdwWindow)

QrEvalWindow           *qr_eval_window_new         (GtkWindow    *parent,
                                                    QrCatalog    *catalog,
                                                    gboolean      all_labels);
/* NULL until computed, or when there is nothing to evaluate (then the message says why). */
const QrCollectionEval *qr_eval_window_get_eval    (QrEvalWindow *self);
const char             *qr_eval_window_get_message (QrEvalWindow *self);

G_END_DECLS
