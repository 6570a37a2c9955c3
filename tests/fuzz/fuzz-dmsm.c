/* fuzz-dmsm.c: a caption model as stored in a catalog (qr_dmsm_load: a GVariant of sizes,
 * vocabulary, scaling, weights and meta) and its optimiser state (qr_dmsm_trainer_restore). An
 * input starting with 'P' patches a small valid saved model (made once: its bytes overwritten
 * from the offset in the next two bytes), so that near-valid models are tried as well as raw
 * bytes. */
#include "fuzz-common.h"
#include "qr-dmsm.h"

#include <string.h>

static GBytes *valid;

static void
make_valid (void)
{
  static const char *const vocabulary[] = { "#ca", "cat", "at#", "#do", "dog", "og#", NULL };
  QrDmsmShape shape = { 6, 5, 4, 10.0f };
  QrDmsm *model = qr_dmsm_new (vocabulary, &shape, 1);
  valid = qr_dmsm_save (model, NULL);
  qr_dmsm_free (model);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) bytes = NULL;
  GVariant *meta = NULL;
  GError *error = NULL;
  QrDmsm *model;

  fuzz_quiet ();
  if (valid == NULL)
    make_valid ();
  if (size >= 3 && data[0] == 'P')
    {
      gsize n;
      const guint8 *base = g_bytes_get_data (valid, &n);
      guint8 *patched = g_memdup2 (base, n);
      gsize at = ((gsize) data[1] << 8 | data[2]) % n;
      memcpy (patched + at, data + 3, MIN (size - 3, n - at));
      bytes = g_bytes_new_take (patched, n);
    }
  else
    bytes = g_bytes_new (data, size);
  model = qr_dmsm_load (bytes, &meta, &error);
  g_clear_error (&error);
  if (model != NULL)
    {
      QrDmsmTrainer *trainer = qr_dmsm_trainer_new (model, 0.001f);
      if (!qr_dmsm_trainer_restore (trainer, bytes, &error))
        g_clear_error (&error);
      qr_dmsm_trainer_free (trainer);
      qr_dmsm_free (model);
    }
  if (meta != NULL)
    g_variant_unref (meta);
  return 0;
}
