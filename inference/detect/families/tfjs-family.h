/* tfjs-family.h: what the TF.js families (CenterNet, NanoDet) share. */
#pragma once

#include "detector-private.h"

/* Checks that graph (taken) takes one RGB image, NHWC or (nchw) NCHW, square, and binds it. */
gboolean qr_tfjs_family_take_graph (QrDetector  *self,
                                    QrGraph     *graph,
                                    const char  *path,
                                    gboolean     nchw,
                                    GError     **error);
