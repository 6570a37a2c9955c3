/* qr-backbone.h: a detector's backbone as an image encoder for the caption model (DMSM). The
 * network is cut after its last backbone map (CenterNet's MobileNetV3 at stride 32); an image's
 * features are that map over the cells the image covers, and their mean (the pooled vector the
 * DMSM's image tower reads). Pure inference: no catalog. */
#pragma once

#include "qr-engine.h"
#include "qr-image.h"

G_BEGIN_DECLS

typedef struct _QrBackbone QrBackbone;

/* The backbones there are: "centernet". */
const char *const *qr_backbone_list_names (void);
/* The backbone of a detector's model file (name: which backbone, path: its model.json). */
QrBackbone *qr_backbone_new          (const char     *name,
                                      const char     *path,
                                      QrDevice        device,
                                      GError        **error);
void        qr_backbone_free         (QrBackbone     *self);
const char *qr_backbone_get_name     (QrBackbone     *self);
/* Channels of the map (and length of the pooled vector). */
int         qr_backbone_get_channels (QrBackbone     *self);
/* Runs the backbone on an image (oriented RGB). pooled: channels floats, the mean over the cells
 * the image covers. map (optional): rows × cols × channels of those cells, g_free; cell_size: the
 * image pixels a cell spans. */
gboolean    qr_backbone_run          (QrBackbone     *self,
                                      const QrImage  *image,
                                      float          *pooled,
                                      float         **map,
                                      int            *rows,
                                      int            *cols,
                                      double         *cell_size,
                                      QrAbortFunc     abort,
                                      gpointer        abort_data,
                                      GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrBackbone, qr_backbone_free)

G_END_DECLS
