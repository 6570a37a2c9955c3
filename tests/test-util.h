/* test-util.h: helpers the test programs share: making real image files (JPEG with an EXIF
 * orientation, PNG), damaging them, and temporary folders. */
#pragma once

#include <glib.h>
#include "qr-image.h"
#include "qr-engine.h"
#include "qr-detector.h"

/* A w×h image whose top-left 16×16 block is red, top-right 16×16 block green, the rest blue. */
QrImage *test_corner_image   (int          w,
                              int          h);
/* A w×h image of smooth gradients seeded by seed. */
QrImage *test_gradient_image (int          w,
                              int          h,
                              guint        seed);
/* Writes image as JPEG; orientation > 1 adds an EXIF APP1 segment carrying it. */
void     test_write_jpeg     (const char  *path,
                              const QrImage *image,
                              int          orientation);
void     test_write_png      (const char  *path,
                              const QrImage *image);
/* Keeps the first n bytes of a file. */
void     test_truncate_file  (const char  *path,
                              gsize        n);
void     test_write_bytes    (const char  *path,
                              const void  *data,
                              gsize        len);
char    *test_make_tmpdir    (void);
/* Copies the Darknet cfg at src into dir (same file name) with the input set to w×h and, when
 * thresh is not NULL, every thresh= line set to it. Returns the copy's path. */
char    *test_copy_darknet_cfg (const char *src,
                                const char *dir,
                                int         w,
                                int         h,
                                const char *thresh);
void     test_remove_tree    (const char  *path);
/* The mean absolute difference of two same-sized images, per channel value. */
double   test_mean_abs_diff  (const QrImage *a,
                              const QrImage *b);

/* Where a test runs the models it compares with a reference: the CPU, or, when QUORUM_DEVICE is
 * set (the GPU machine's runs, tools/cuda-host-check), QR_DEVICE_AUTO, which the engine then
 * resolves from QUORUM_DEVICE and QUORUM_PRECISION. */
QrDevice test_device         (void);

/* Debian's Python, where python3-torch, -onnx and -opencv are: the references' interpreter (another
 * python3 may come first on PATH). */
#define TEST_PYTHON "/usr/bin/python3"
/* Whether TEST_PYTHON imports the modules of `imports` ("torch, onnx"), asked once per list. */
gboolean test_python_imports (const char *imports);
/* TEST_PYTHON running script with args (NULL-terminated): its standard output. A script that fails
 * fails the test, with its standard error. */
char    *test_python_run     (const char        *script,
                              const char *const *args);

/* The reference for qr_model_set_peaks, as CenterNet's own graph finds peaks: 3×3 max pooling
 * with SAME padding, then a value equal to its pool's and at or above thr. Runs detector (which
 * asks its model for peaks) on the n images at once, then checks each item's peaks against the
 * maps the model downloads (qr_model_get_output): the same cells, channels, values and rows, in
 * the same order. Returns how many peaks there were. */
gsize    test_check_peaks    (QrDetector          *detector,
                              const QrImage *const *images,
                              int                  n,
                              const char          *map,
                              const char          *rows,
                              float                thr);

/* A slot of qr_model_select_rows, for test_check_rows. */
typedef struct
{
  const char *output;
  int         width, first, count;
  const char *with;
  float       threshold;
} TestRowsSpec;

/* Asks model for the rows of specs (slot i for specs[i], the other slots emptied), runs it on
 * the n items at input, then checks each slot's kept rows against the outputs (qr_model_get_output):
 * every row whose largest value among the channels is at or above the threshold, in order, with
 * its values and with's. Returns how many rows were kept in all. */
gsize    test_check_rows     (QrModel             *model,
                              const float         *input,
                              int                  n,
                              const TestRowsSpec  *specs,
                              int                  n_specs);
