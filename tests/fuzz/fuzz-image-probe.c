/* fuzz-image-probe.c: reading an image's size and orientation from its first bytes. */
#include "fuzz-common.h"
#include "qr-image.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  QrImageInfo info;
  GError *error = NULL;

  fuzz_quiet ();
  if (!qr_image_probe (data, size, &info, &error))
    g_clear_error (&error);
  return 0;
}
