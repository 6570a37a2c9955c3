/* qr-scenes.h: generated scenes and their captions, to measure whether the caption model (DMSM)
 * learns. A scene is one to four shapes (five kinds, six colours, two sizes) in one to three groups
 * on a plain or textured background, drawn with cairo; its caption comes from a small grammar with
 * synonyms, counts and a relation between groups ("a red disc left of two blue squares"). Scene i
 * of a seed is always the same, whatever else is generated. */
#pragma once

#include <glib.h>
#include "qr-image.h"

G_BEGIN_DECLS

#define QR_SCENE_MAX_GROUPS 3

typedef enum
{
  QR_SCENE_PLAIN,
  QR_SCENE_STRIPES,
  QR_SCENE_CHECKS,
  QR_SCENE_NOISE,
} QrSceneBackground;

typedef struct
{
  int    kind;      /* index into the kinds (circle, square, triangle, star, cross) */
  int    colour;    /* index into the colours */
  int    count;     /* 1 or 2 */
  int    large;     /* both shapes of a group share a size */
  double x[2], y[2];/* centres, as fractions of the side */
} QrSceneGroup;

typedef struct
{
  int               n_groups;
  QrSceneGroup      groups[QR_SCENE_MAX_GROUPS];
  QrSceneBackground background;
  guint32           texture_seed;
  guint32           caption_seed;
} QrScene;

/* Scene `index` of `seed` (held-out scenes use another stream: pass held_out TRUE). */
void     qr_scene_generate  (guint64        seed,
                             guint          index,
                             gboolean       held_out,
                             QrScene       *scene);
/* The scene drawn on a side × side square. */
QrImage *qr_scene_render    (const QrScene *scene,
                             int            side);
/* A caption for the scene; variant picks the synonyms and the wording (any number; 0 is the one a
 * benchmark holds out). g_free. */
char    *qr_scene_caption   (const QrScene *scene,
                             guint64        seed,
                             guint          variant);

G_END_DECLS
