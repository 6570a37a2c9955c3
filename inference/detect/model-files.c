/* model-files.c: where detector models are and what they are called. Which files are models is
 * the families' word (their suffixes and companions, detector-private.h), so a new family's files
 * are found, listed and named with no change here. */
#define G_LOG_DOMAIN "quorum-detect"

#include "quorum-config.h"
#include "detector-private.h"

#include <gio/gio.h>
#include <string.h>

G_LOCK_DEFINE_STATIC (models_folder);
static char *models_folder;

void
qr_set_models_folder (const char *dir)
{
  G_LOCK (models_folder);
  g_free (models_folder);
  models_folder = dir != NULL && dir[0] != '\0' ? g_strdup (dir) : NULL;
  G_UNLOCK (models_folder);
}

char *
qr_get_models_folder (void)
{
  char *dir;
  G_LOCK (models_folder);
  dir = models_folder != NULL ? g_strdup (models_folder)
                              : g_build_filename (g_get_user_data_dir (), "quorum", "models", NULL);
  G_UNLOCK (models_folder);
  return dir;
}

/* The endings a model is found by, each once, in the table's order (.json, .cfg, .tflite), with
 * the companion file that must stand beside it. */
static guint
model_suffixes (const char **suffixes, const char **companions)
{
  guint n = 0;

  for (guint f = 0; f < qr_detector_n_families; f++)
    {
      const QrDetectorFamily *family = qr_detector_families[f];
      gboolean seen = FALSE;
      if (family->suffixes == NULL || family->suffixes[0] == NULL)
        continue;
      for (guint k = 0; k < n && !seen; k++)
        seen = g_str_equal (suffixes[k], family->suffixes[0]);
      if (seen)
        continue;
      suffixes[n] = family->suffixes[0];
      companions[n++] = family->companion;
    }
  return n;
}

/* Whether name ends as some family's model files (or their companions) do. */
static const char *
model_ending (const char *name)
{
  for (guint f = 0; f < qr_detector_n_families; f++)
    {
      const QrDetectorFamily *family = qr_detector_families[f];
      for (guint i = 0; family->suffixes != NULL && family->suffixes[i] != NULL; i++)
        if (g_str_has_suffix (name, family->suffixes[i]))
          return family->suffixes[i];
      if (family->companion != NULL && g_str_has_suffix (name, family->companion))
        return family->companion;
    }
  return NULL;
}

/* A detector file's model name: its stem (NAME for NAME.json, NAME.cfg with NAME.weights beside
 * it, NAME.tflite); NULL for other files (weights shards, labels). */
static char *
model_name_of (const char *dir, const char *file)
{
  const char *suffixes[16], *companions[16];
  guint n = model_suffixes (suffixes, companions);

  for (guint k = 0; k < n; k++)
    if (g_str_has_suffix (file, suffixes[k]))
      {
        g_autofree char *stem = g_strndup (file, strlen (file) - strlen (suffixes[k]));
        if (companions[k] != NULL)
          {
            g_autofree char *companion = g_strconcat (dir, G_DIR_SEPARATOR_S, stem, companions[k], NULL);
            if (!g_file_test (companion, G_FILE_TEST_IS_REGULAR))
              return NULL;
          }
        return g_steal_pointer (&stem);
      }
  return NULL;
}

static int
by_name (gconstpointer a, gconstpointer b)
{
  return g_ascii_strcasecmp (*(char *const *) a, *(char *const *) b);
}

GPtrArray *
qr_list_models (void)
{
  g_autofree char *user = qr_get_models_folder ();
  const char *dirs[3] = { user, g_getenv ("QUORUM_MODELS_DIR"), QUORUM_SOURCE_DIR "/../shared/models/pretrained" };
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autoptr (GDir) d = dirs[i] ? g_dir_open (dirs[i], 0, NULL) : NULL;
      const char *file;
      while (d != NULL && (file = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *name = model_name_of (dirs[i], file);
          if (name != NULL && !g_ptr_array_find_with_equal_func (names, name, g_str_equal, NULL))
            g_ptr_array_add (names, g_steal_pointer (&name));
        }
    }
  g_ptr_array_sort (names, by_name);
  return names;
}

char *
qr_find_model (const char *name, GError **error)
{
  g_autofree char *user = qr_get_models_folder ();
  const char *dirs[3] = { NULL, g_getenv ("QUORUM_MODELS_DIR"), QUORUM_SOURCE_DIR "/../shared/models/pretrained" };
  const char *suffixes[16], *companions[16];
  guint n = model_suffixes (suffixes, companions);

  if (model_ending (name) != NULL || strchr (name, '/') != NULL)
    return g_strdup (name);
  dirs[0] = user;
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    for (guint k = 0; dirs[i] != NULL && k < n; k++)
      {
        g_autofree char *file = g_strconcat (name, suffixes[k], NULL);
        g_autofree char *candidate = g_build_filename (dirs[i], file, NULL);
        if (companions[k] != NULL)
          {
            g_autofree char *stem = g_build_filename (dirs[i], name, NULL);
            g_autofree char *companion = g_strconcat (stem, companions[k], NULL);
            if (!g_file_test (companion, G_FILE_TEST_IS_REGULAR))
              continue;
          }
        if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
          return g_canonicalize_filename (candidate, NULL);
      }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               "model '%s' not found in %s (run tools/fetch-models.sh) or $QUORUM_MODELS_DIR", name, user);
  return NULL;
}

char *
qr_model_name_from_path (const char *name)
{
  g_autofree char *base = g_path_get_basename (name);
  const char *ending = model_ending (base);

  if (ending != NULL)
    base[strlen (base) - strlen (ending)] = '\0';
  if (g_str_equal (base, "model"))
    {
      g_autofree char *dir = g_path_get_dirname (name);
      g_free (base);
      base = g_path_get_basename (dir);
    }
  return g_steal_pointer (&base);
}
