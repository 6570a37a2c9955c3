/* cuda-loader.c: opens libquorum-cuda.so (gpu/qr-cuda-api.h) the first time CUDA is asked for.
 * Looked for, in order: $QUORUM_CUDA_MODULE; beside the running program (a bundle); the build
 * tree's gpu/ (the program is in the build tree or its tests/); the installed libdir/quorum.
 * A module that will not open (cuDNN or the driver missing) is an error with the loader's words,
 * and the caller carries on on the CPU. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"
#include "qr-cuda-api.h"

#include <gmodule.h>

static const QrCudaApi *api;
static char *load_error;

#if QUORUM_CUDA_LINKED
/* tools/cuda-host-check links the table in instead of opening the module */
static gpointer
load (gpointer data)
{
  api = qr_cuda_module_api ();
  return NULL;
}
#else
static gboolean
try_open (const char *path, GString *why)
{
  GModule *module;
  const QrCudaApi *(*entry) (void) = NULL;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      g_string_append_printf (why, "%s%s", why->len ? "; " : "", g_module_error ());
      return FALSE;
    }
  if (!g_module_symbol (module, "qr_cuda_module_api", (gpointer *) &entry) || entry == NULL
      || entry ()->version != QR_CUDA_API_VERSION)
    {
      g_string_append_printf (why, "%s%s: not a Quorum CUDA module of this version", why->len ? "; " : "", path);
      g_module_close (module);
      return FALSE;
    }
  g_module_make_resident (module);
  api = entry ();
  g_debug ("CUDA module: %s", path);
  return TRUE;
}

static gpointer
load (gpointer data)
{
  g_autoptr (GString) why = g_string_new (NULL);
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = exe ? g_path_get_dirname (exe) : NULL;
  g_autofree char *beside = dir ? g_build_filename (dir, "libquorum-cuda.so", NULL) : NULL;
  g_autofree char *parent = dir ? g_build_filename (dir, "..", "gpu", "libquorum-cuda.so", NULL) : NULL;
  const char *candidates[] = { g_getenv ("QUORUM_CUDA_MODULE"), beside, QUORUM_CUDA_MODULE_BUILD, parent,
                               QUORUM_CUDA_MODULE_INSTALLED };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (candidates[i] != NULL && try_open (candidates[i], why))
      return NULL;
  load_error = why->len > 0 ? g_strdup_printf ("the CUDA module would not load: %s", why->str)
                            : g_strdup ("the CUDA module (libquorum-cuda.so) was not found");
  return NULL;
}
#endif

const QrCudaApi *
qr_cuda_api (GError **error)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, load, NULL);
  if (api == NULL)
    g_set_error_literal (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, load_error);
  return api;
}
