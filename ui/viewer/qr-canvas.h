/* qr-canvas.h: the image viewer: the picture, fitted or zoomed (wheel to the cursor, +/−, 0 to fit,
 * Ctrl+1 for 100 %) and panned (drag), with the boxes drawn over it — human labels solid, each
 * model's detections dashed, a stable colour per class, class and score above each box. Editing:
 * click selects; drag a selected label to move it, its handles to resize it; B then drag draws a
 * new box; Delete removes a label; Enter or A accepts a model's box as a label, R or X hides it;
 * 1–9 give the selected label the n-th class; arrows nudge it. */
#pragma once

#include <gtk/gtk.h>
#include "qr-history.h"

G_BEGIN_DECLS

#define QR_TYPE_CANVAS (qr_canvas_get_type ())
G_DECLARE_FINAL_TYPE (QrCanvas, qr_canvas, QR, CANVAS, GtkWidget)

GtkWidget *qr_canvas_new               (void);
/* texture may be smaller than the image (a thumbnail while the full image loads): boxes are in
 * image pixels, width × height. */
void       qr_canvas_set_image         (QrCanvas   *self,
                                        GdkTexture *texture,
                                        int         width,
                                        int         height);
/* overlays: a GPtrArray of QrOverlayBox (qr-catalog.h), taken; NULL clears. */
void       qr_canvas_set_overlays      (QrCanvas   *self,
                                        GPtrArray  *overlays);
/* A class-score heatmap over the image: texture covers image pixels 0 .. width × height scaled by
 * cell_size (image pixels per texel). NULL removes it. */
void       qr_canvas_set_heatmap       (QrCanvas   *self,
                                        GdkTexture *heatmap,
                                        double      cell_size);
gboolean   qr_canvas_has_heatmap       (QrCanvas   *self);
/* The heatmap's scale is its own lowest to highest (a scorer's phrase map), not scores from 0. */
void       qr_canvas_set_heatmap_relative (QrCanvas *self,
                                        gboolean  relative);
/* The heatmap drawn (not a new reference; NULL: none) and its image pixels per texel. */
GdkTexture *qr_canvas_get_heatmap      (QrCanvas   *self,
                                        double     *cell_size);
/* What the heatmap shows (a class, or the words of a search), for its legend and scale. */
void       qr_canvas_set_heatmap_title (QrCanvas   *self,
                                        const char *title);
/* A review item's consensus box, drawn dotted over the boxes (NULL removes it), and a zoom that
 * centres a box and makes it about 40% of the view. */
void       qr_canvas_set_highlight     (QrCanvas   *self,
                                        const QrBox *box);
void       qr_canvas_zoom_to_box       (QrCanvas   *self,
                                        const QrBox *box);
/* Layers: the labels ("label") and each model's boxes (its name) can be turned off. */
void       qr_canvas_set_layer_visible (QrCanvas   *self,
                                        const char *source,
                                        gboolean    visible);
gboolean   qr_canvas_get_layer_visible (QrCanvas   *self,
                                        const char *source);
void       qr_canvas_set_heatmap_opacity (QrCanvas *self,
                                        double      opacity);
void       qr_canvas_set_score_threshold (QrCanvas *self,
                                        double      threshold);
void       qr_canvas_zoom_fit          (QrCanvas   *self);
/* Editing: the canvas edits the labels of image_id through history (borrowed) and redraws from
 * its catalog. NULL turns editing off. */
void       qr_canvas_set_editing       (QrCanvas   *self,
                                        QrHistory  *history,
                                        gint64      image_id);
/* Reloads the boxes from the catalog (after an undo, a run…). */
void       qr_canvas_reload            (QrCanvas   *self);
/* The selected box: its index in the overlays, or -1. */
int        qr_canvas_get_selected      (QrCanvas   *self);
void       qr_canvas_select            (QrCanvas   *self,
                                        int         index);
/* Selects a label by id (its handles shown, keys on it) and takes the focus; FALSE when it is
 * not on screen. */
gboolean   qr_canvas_select_label      (QrCanvas   *self,
                                        gint64      label_id);
/* As B: the next drag draws a label, of class_id (0: the last class used). */
gboolean   qr_canvas_start_drawing     (QrCanvas   *self,
                                        gint64      class_id);
double     qr_canvas_get_zoom          (QrCanvas   *self);
/* The boxes (borrowed; labels first), and whether one is drawn (not under the score threshold,
 * not rejected by R/X, its layer on). The "changed" signal tells when they or the threshold change (the selection
 * with them), "selection-changed" when only the selection does. */
GPtrArray *qr_canvas_get_overlays      (QrCanvas   *self);
gboolean   qr_canvas_is_box_visible    (QrCanvas   *self,
                                        guint       index);
/* Where image pixel (ix, iy) is on the widget now (zoom and pan applied). */
void       qr_canvas_image_to_widget   (QrCanvas   *self,
                                        double      ix,
                                        double      iy,
                                        double     *wx,
                                        double     *wy);
guint      qr_canvas_get_n_visible_boxes (QrCanvas *self);
/* The colour a class is drawn in now: each class on screen has its own (qr-overlay-style.h);
 * FALSE when the class has no box on screen (its colour is then the one it would start from). */
gboolean   qr_canvas_class_colour      (QrCanvas   *self,
                                        const char *class_name,
                                        GdkRGBA    *rgba);
/* The legend (L toggles it): the classes on screen with their colours and counts. */
void       qr_canvas_set_legend_visible (QrCanvas  *self,
                                        gboolean    visible);
gboolean   qr_canvas_get_legend_visible (QrCanvas  *self);
/* How many tags the last draw left out for want of room (their boxes are drawn). */
guint      qr_canvas_get_n_tags_elided (QrCanvas   *self);

G_END_DECLS
