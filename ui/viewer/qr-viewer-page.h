/* qr-viewer-page.h: the viewer: the canvas (the photo, its boxes, editing) beside the inspector
 * (F9), the full photo decoded on a worker while the thumbnail stands in, the heatmap (H) computed
 * on a worker, and decisions on the image's review items (Y, N, E, S). The window says which image
 * to show and forwards its keys; the page tells it through "notify::heatmap-on" and
 * "notify::heatmap-class" what its header should show, and reports failures as toasts. */
#pragma once

#include <adwaita.h>
#include "qr-canvas.h"
#include "qr-history.h"
#include "qr-image-list.h"

G_BEGIN_DECLS

#define QR_TYPE_VIEWER_PAGE (qr_viewer_page_get_type ())
G_DECLARE_FINAL_TYPE (QrViewerPage, qr_viewer_page, QR, VIEWER_PAGE, GtkWidget)

/* Shows item: its thumbnail and boxes at once, edited through history, the full photo when it is
 * decoded. catalog and history are the window's (kept while the image is shown). */
void      qr_viewer_page_show_image       (QrViewerPage *self,
                                           QrCatalog    *catalog,
                                           QrHistory    *history,
                                           QrImageItem  *item);
/* Stops loading and shows nothing (back to the gallery). */
void      qr_viewer_page_clear            (QrViewerPage *self);
/* The image's boxes read again from the catalog (a run added some). */
void      qr_viewer_page_reload_boxes     (QrViewerPage *self);
/* decision: accepted, kept, edited or skipped, on the chosen review item (else the first);
 * FALSE (with a toast) when there is none or it could not be stored. */
gboolean  qr_viewer_page_decide           (QrViewerPage *self,
                                           const char   *decision);
void      qr_viewer_page_toggle_heatmap   (QrViewerPage *self);
/* New detections, a trained caption model, new embeddings: the captions' scorer is read again,
 * and the phrase maps' scorer is made again at the next map. */
void      qr_viewer_page_forget_scorer    (QrViewerPage *self);
/* T: where a text is — CenterNet's scores of the classes it mentions (classes: peer names), or,
 * when scorer names one with maps of its own (clip, dmsm), that scorer's phrase map computed on a
 * worker; with the text as the heatmap's title; again with the same text turns it off. */
void      qr_viewer_page_toggle_phrase_heatmap (QrViewerPage *self,
                                          const char        *text,
                                          const char *const *classes,
                                          const char        *scorer);
gboolean  qr_viewer_page_get_heatmap_on   (QrViewerPage *self);
void      qr_viewer_page_toggle_inspector (QrViewerPage *self);
QrCanvas *qr_viewer_page_get_canvas       (QrViewerPage *self);

G_END_DECLS
