/* darknet-private.h: the Darknet importer's two halves: the cfg reader (darknet-cfg.c: sections,
 * options, their checks, each error naming the file and line) and the graph builder (darknet.c:
 * layers, weights, heads). */
#pragma once

#include "qr-darknet.h"
#include "engine-private.h"

G_BEGIN_DECLS

typedef struct
{
  char    *key;
  char    *value;
  int      line;
} QrCfgOption;

typedef struct
{
  char    *type;
  int      line;
  GArray  *options;   /* QrCfgOption */
} QrCfgSection;

void          qr_cfg_section_clear   (gpointer       data);
/* The cfg's sections in order (GArray of QrCfgSection), or NULL with an error naming the line. */
GArray       *qr_cfg_parse           (const char    *path,
                                      GError       **error);
/* FALSE, with error "path:line: message" (or "path: message" for line 0). */
gboolean      qr_cfg_fail_at         (const char    *path,
                                      int            line,
                                      GError       **error,
                                      int            code,
                                      const char    *format,
                                      ...) G_GNUC_PRINTF (5, 6);
/* The last value given for key (a later value wins, as in Darknet), NULL when absent. */
QrCfgOption  *qr_cfg_find_option     (QrCfgSection  *s,
                                      const char    *key);
gboolean      qr_cfg_int             (const char    *path,
                                      QrCfgSection  *s,
                                      const char    *key,
                                      int            fallback,
                                      int           *out,
                                      GError       **error);
gboolean      qr_cfg_float           (const char    *path,
                                      QrCfgSection  *s,
                                      const char    *key,
                                      float          fallback,
                                      float         *out,
                                      GError       **error);
/* A comma-separated list of at most max numbers; the count, or −1 after an error. */
int           qr_cfg_list            (const char    *path,
                                      QrCfgSection  *s,
                                      const char    *key,
                                      float         *out,
                                      int            max,
                                      GError       **error);
/* Every option a kind of section may carry (NULL-terminated). */
extern const char *const qr_cfg_net_options[];
extern const char *const qr_cfg_conv_options[];
extern const char *const qr_cfg_maxpool_options[];
extern const char *const qr_cfg_route_options[];
extern const char *const qr_cfg_shortcut_options[];
extern const char *const qr_cfg_upsample_options[];
extern const char *const qr_cfg_yolo_options[];
extern const char *const qr_cfg_region_options[];
extern const char *const qr_cfg_dropout_options[];
/* An option outside known is an error naming its line. */
gboolean      qr_cfg_check_options   (const char    *path,
                                      QrCfgSection  *s,
                                      const char *const *known,
                                      GError       **error);
/* An option that must keep its default for the forward pass Quorum implements. */
gboolean      qr_cfg_require_default (const char    *path,
                                      QrCfgSection  *s,
                                      const char    *key,
                                      int            expected,
                                      GError       **error);
/* The section's activation (logistic when absent) and the leaky slope. */
gboolean      qr_cfg_activation      (const char    *path,
                                      QrCfgSection  *s,
                                      QrActivation  *act,
                                      float         *alpha,
                                      GError       **error);

G_END_DECLS
