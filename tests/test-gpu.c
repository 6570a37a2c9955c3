/* test-gpu.c: the CUDA side, on a machine that has a GPU; skipped (not faked) elsewhere. */
#include "qr-gpu.h"

#include <string.h>

static void
test_describe (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (qr_gpu_device_count () == 0)
    {
      g_test_skip ("no CUDA device on this machine");
      return;
    }
  text = qr_gpu_describe (&error);
  g_assert_no_error (error);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "cuda:0 "));
  g_assert_nonnull (strstr (text, "cuDNN 9"));
}

static void
test_no_device_is_an_error_not_a_crash (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (qr_gpu_device_count () > 0)
    {
      g_test_skip ("this machine has a GPU");
      return;
    }
  text = qr_gpu_describe (&error);
  g_assert_null (text);
  g_assert_error (error, QR_GPU_ERROR, QR_GPU_ERROR_NO_DEVICE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gpu/describe", test_describe);
  g_test_add_func ("/gpu/no-device", test_no_device_is_an_error_not_a_crash);
  return g_test_run ();
}
