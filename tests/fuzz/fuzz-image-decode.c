/* fuzz-image-decode.c: decoding every format Quorum reads, under limits small enough that a
 * declared size cannot make the fuzzer run out of memory (the limits are what is under test). */
#include "fuzz-common.h"
#include "qr-image.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  QrImageLimits limits = { 4096, 4096ull * 4096 };
  GError *error = NULL;
  QrImage *image;

  fuzz_quiet ();
  image = qr_image_decode (data, size, &limits, size % 3 == 0 ? 64 : 0, &error);
  if (image != NULL)
    qr_image_free (image);
  g_clear_error (&error);
  return 0;
}
