/* qr-inspector.h: the viewer's side panel. At the top, the image's open review items (kind, class,
 * score, a bar per peer for its vote); choosing one zooms the canvas to it and draws the consensus
 * box dotted. Below, the boxes drawn, each with its class, score and source, and how every model
 * with boxes on the image voted for it (its best same-class box at IoU ≥ 0.5, or –); choosing one
 * selects the box on the canvas, and a box chosen there is chosen here. Last, the image's captions,
 * each scored, editable and deletable in place, a row to add one, and Suggest Captions. */
#pragma once

#include <gtk/gtk.h>
#include "qr-canvas.h"
#include "qr-catalog.h"
#include "qr-history.h"
#include "qr-scorer.h"

G_BEGIN_DECLS

#define QR_TYPE_INSPECTOR (qr_inspector_get_type ())
G_DECLARE_FINAL_TYPE (QrInspector, qr_inspector, QR, INSPECTOR, GtkWidget)

/* The canvas it lists and steers (borrowed); call once. */
void                   qr_inspector_set_canvas          (QrInspector *self,
                                                         QrCanvas    *canvas);
/* The image on the canvas and the catalog its review items come from (borrowed), before the
 * canvas gets the image's boxes; no item is chosen then. */
void                   qr_inspector_set_image           (QrInspector *self,
                                                         QrCatalog   *catalog,
                                                         gint64       image_id);
/* The review item a decision (Y, N, E, S) applies to: the chosen one, else the first; NULL
 * when the image has none. Valid until the boxes change. */
const QrMistakeRecord *qr_inspector_get_review_item     (QrInspector *self);
/* Where caption edits go (borrowed). */
void                   qr_inspector_set_history         (QrInspector *self,
                                                         QrHistory   *history);
/* The scorer captions are scored and suggested with (NULL, with the problem in words, when there
 * is none: no peer has run). */
void                   qr_inspector_set_scorer          (QrInspector *self,
                                                         QrScorer    *scorer,
                                                         const char  *problem);
void                   qr_inspector_forget_review_item  (QrInspector *self);

G_END_DECLS
