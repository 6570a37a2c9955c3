/* class-map.c: the names peers vote under (qr-class-map.h): the tab-separated maps read, the
 * user's over the installed one, and looked up for each model class name. */
#define G_LOG_DOMAIN "quorum-engine"

#include "quorum-config.h"
#include "qr-class-map.h"

#include <string.h>

static gboolean
read_into (GHashTable *map, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      char *line = lines[i], *tab;
      g_strchomp (line);
      if (line[0] == '\0' || line[0] == '#')
        continue;
      tab = strchr (line, '\t');
      if (tab == NULL || tab == line || tab[1] == '\0')
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: expected \"model class<TAB>peer class\"",
                       path, i + 1);
          return FALSE;
        }
      *tab = '\0';
      g_hash_table_insert (map, g_strdup (line), g_strdup (g_strstrip (tab + 1)));
    }
  return TRUE;
}

GHashTable *
qr_class_map_load (const char *const *paths, GError **error)
{
  g_autoptr (GHashTable) map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; paths[i] != NULL; i++)
    if (!read_into (map, paths[i], error))
      return NULL;
  return g_steal_pointer (&map);
}

static gpointer
load_default (gpointer data)
{
  g_autofree char *user = g_build_filename (g_get_user_config_dir (), "quorum", "class-map.tsv", NULL);
  const char *candidates[] = { g_getenv ("QUORUM_CLASS_MAP"), QUORUM_DATA_DIR_INSTALLED "/class-map.tsv",
                               QUORUM_SOURCE_DIR "/resources/class-map.tsv" };
  const char *paths[3] = { NULL };
  int n = 0;
  g_autoptr (GError) error = NULL;
  GHashTable *map;

  for (guint i = 0; i < G_N_ELEMENTS (candidates) && n == 0; i++)
    if (candidates[i] != NULL && g_file_test (candidates[i], G_FILE_TEST_IS_REGULAR))
      paths[n++] = candidates[i];
  if (g_file_test (user, G_FILE_TEST_IS_REGULAR))
    paths[n++] = user;
  map = qr_class_map_load (paths, &error);
  if (map == NULL)
    {
      g_warning ("class map not used: %s", error->message);
      map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    }
  return map;
}

const char *
qr_class_map_lookup (const char *name)
{
  static GOnce once = G_ONCE_INIT;
  GHashTable *map = g_once (&once, load_default, NULL);
  const char *mapped = g_hash_table_lookup (map, name);
  return mapped != NULL ? mapped : name;
}
