/* qr-heatmap.h: the viewer's heatmap (H): a detector's class scores for one image, computed on a
 * worker thread and kept, then coloured (dark red → yellow → white, the score as alpha) for one
 * class, or the maximum over all classes. */
#pragma once

#include <gtk/gtk.h>
#include "qr-detector.h"

G_BEGIN_DECLS

typedef struct _QrHeatmap QrHeatmap;

void        qr_heatmap_free    (QrHeatmap     *heat);
/* In a worker: the image at path through *detector (CenterNet, loaded on first use), which lock
 * guards (one task uses it at a time). */
QrHeatmap  *qr_heatmap_compute (const char    *path,
                                QrDetector   **detector,
                                GMutex        *lock,
                                GCancellable  *cancellable,
                                GError       **error);
/* The scores of class_name as a texture (every class's maximum when class_name is NULL or the
 * detector has no such class); *shown: the class shown, NULL for all. */
GdkTexture *qr_heatmap_colour  (QrHeatmap     *heat,
                                const char    *class_name,
                                const char   **shown);
/* The maximum over the named classes (peer names, through the class map): a phrase's map, as the
 * zero-shot scorer defines it (T). */
GdkTexture *qr_heatmap_colour_classes (QrHeatmap *heat,
                                       const char *const *classes);
/* Image pixels per texel. */
double      qr_heatmap_get_cell_size (QrHeatmap *heat);
/* The colour (RGBA) a class score is drawn in: dark red through yellow to white, transparent at
 * 0, full from 1/1.6 up (the scale the canvas's legend shows). */
void        qr_heatmap_ramp    (float          score,
                                guint8        *rgba);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrHeatmap, qr_heatmap_free)

G_END_DECLS
