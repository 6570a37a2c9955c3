/* qr-class-map.h: the names peers vote under. Models trained on different label sets name the
 * same thing differently (Darknet's "motorbike", Open Images' "Computer monitor"); a tab-separated
 * map (resources/class-map.tsv, installed as $datadir/quorum/class-map.tsv, or $QUORUM_CLASS_MAP;
 * then ~/.config/quorum/class-map.tsv on top) turns them into COCO's names. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The map from the given files, later files winning: model name → peer name. */
GHashTable *qr_class_map_load   (const char *const *paths,
                                 GError           **error);
/* The peer name for a model's class name (the name itself when unmapped), from the default map,
 * loaded once. */
const char *qr_class_map_lookup (const char       *name);

G_END_DECLS
