/* qr-preferences.c: see qr-preferences.h. Every row writes its GSettings key at once (GNOME
 * preferences have no Apply button); the window reads them when it starts a job. */
#define G_LOG_DOMAIN "quorum-window"

#include "quorum-config.h"
#include "qr-preferences.h"
#include "qr-runner.h"

#include <glib/gi18n.h>

typedef struct
{
  GSettings *settings;
  GPtrArray *models;       /* names shown in the model row */
  AdwActionRow *folder_row;
} Prefs;

static void
prefs_free (gpointer data)
{
  Prefs *p = data;
  g_clear_object (&p->settings);
  g_clear_pointer (&p->models, g_ptr_array_unref);
  g_free (p);
}

/* A spin button row bound to a numeric key. */
static GtkWidget *
spin_row (GSettings *settings, const char *key, const char *title, const char *subtitle, double lo, double hi,
          double step, int digits)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *spin = gtk_spin_button_new_with_range (lo, hi, step);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), (guint) digits);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  g_settings_bind (settings, key, spin, "value", G_SETTINGS_BIND_DEFAULT);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), spin);
  return row;
}

static void
model_selected (AdwComboRow *row, GParamSpec *pspec, Prefs *p)
{
  guint i = adw_combo_row_get_selected (row);
  if (i < p->models->len)
    g_settings_set_string (p->settings, "detect-model", p->models->pdata[i]);
}

static const char *const devices[] = { "auto", "cpu", "cuda" };

static void
device_selected (AdwComboRow *row, GParamSpec *pspec, Prefs *p)
{
  guint i = adw_combo_row_get_selected (row);
  if (i < G_N_ELEMENTS (devices))
    g_settings_set_string (p->settings, "device", devices[i]);
}

static void
show_folder (Prefs *p)
{
  g_autofree char *dir = qr_get_models_folder ();
  adw_action_row_set_subtitle (p->folder_row, dir);
}

static void
folder_chosen (GtkNativeDialog *dialog, int response, Prefs *p)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        {
          g_settings_set_string (p->settings, "models-folder", path);
          qr_set_models_folder (path);
          show_folder (p);
        }
    }
  g_object_unref (dialog);
}

static void
change_folder (GtkButton *button, Prefs *p)
{
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (_("Models Folder"),
                                                               GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (button))),
                                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Select"),
                                                               _("_Cancel"));
  g_signal_connect (chooser, "response", G_CALLBACK (folder_chosen), p);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
open_folder (GtkButton *button, Prefs *p)
{
  g_autofree char *dir = qr_get_models_folder ();
  g_autoptr (GFile) file = g_file_new_for_path (dir);
  g_autofree char *uri = g_file_get_uri (file);
  g_autoptr (GError) error = NULL;

  g_mkdir_with_parents (dir, 0700);
  if (!g_app_info_launch_default_for_uri (uri, NULL, &error))
    g_warning ("cannot open %s: %s", dir, error->message);
}

GtkWidget *
qr_preferences_new (GtkWindow *parent, GSettings *settings)
{
  GtkWidget *window = adw_preferences_window_new ();
  GtkWidget *page = adw_preferences_page_new ();
  GtkWidget *detection = adw_preferences_group_new ();
  GtkWidget *viewer = adw_preferences_group_new ();
  GtkWidget *models = adw_preferences_group_new ();
  GtkWidget *row, *button;
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  g_autoptr (GtkStringList) device_names = gtk_string_list_new (NULL);
  g_autofree char *current = g_settings_get_string (settings, "detect-model");
  g_autofree char *device = g_settings_get_string (settings, "device");
  Prefs *p = g_new0 (Prefs, 1);
  guint selected = 0;

  p->settings = g_object_ref (settings);
  p->models = qr_list_models ();
  g_object_set_data_full (G_OBJECT (window), "quorum-prefs", p, prefs_free);
  gtk_window_set_transient_for (GTK_WINDOW (window), parent);
  gtk_window_set_modal (GTK_WINDOW (window), TRUE);
  gtk_window_set_title (GTK_WINDOW (window), _("Preferences"));
  gtk_window_set_default_size (GTK_WINDOW (window), 600, 720);

  /* Detection */
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (detection), _("Detection"));
  if (!g_ptr_array_find_with_equal_func (p->models, current, g_str_equal, NULL))
    g_ptr_array_insert (p->models, 0, g_strdup (current));   /* keep the setting visible even if missing */
  for (guint i = 0; i < p->models->len; i++)
    {
      gtk_string_list_append (names, p->models->pdata[i]);
      if (g_str_equal (p->models->pdata[i], current))
        selected = i;
    }
  row = adw_combo_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Model"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _("What Detect (Ctrl+R) runs over the collection"));
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (names));
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), selected);
  g_signal_connect (row, "notify::selected", G_CALLBACK (model_selected), p);
  gtk_widget_set_name (row, "model-row");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (detection), row);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (detection),
                             spin_row (settings, "detect-threshold", _("Lowest Score Stored"),
                                       _("Weaker model boxes are not kept"), 0.01, 0.95, 0.05, 2));

  gtk_string_list_append (device_names, _("Automatic"));
  gtk_string_list_append (device_names, _("CPU"));
  gtk_string_list_append (device_names, _("CUDA GPU"));
  row = adw_combo_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Device"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                               QUORUM_HAVE_CUDA ? _("Automatic uses the GPU where one is usable, else the CPU; CUDA GPU "
                                                    "says so when it falls back to the CPU. The caption model trains "
                                                    "on the GPU only with CUDA GPU")
                                                : _("This build has no CUDA: models run on the CPU"));
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (device_names));
  for (guint i = 0; i < G_N_ELEMENTS (devices); i++)
    if (g_str_equal (device, devices[i]))
      adw_combo_row_set_selected (ADW_COMBO_ROW (row), i);
  g_signal_connect (row, "notify::selected", G_CALLBACK (device_selected), p);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (detection), row);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (detection),
                             spin_row (settings, "cpu-threads", _("CPU Threads"),
                                       _("0 uses every core but one, which is left to the interface"), 0, 256, 1, 0));

  /* Viewer and gallery */
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (viewer), _("Viewer and Gallery"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (viewer),
                             spin_row (settings, "score-threshold", _("Hide Model Boxes Below"),
                                       _("The viewer's Min Score slider"), 0.05, 0.95, 0.05, 2));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (viewer),
                             spin_row (settings, "thumbnail-size", _("Thumbnail Size"),
                                       _("Longer side in pixels, for thumbnails made from now on"), 64, 512, 32, 0));

  {
    GtkWidget *advance = adw_action_row_new ();
    GtkWidget *toggle = gtk_switch_new ();
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (advance), _("Next Image After the Last Decision"));
    adw_action_row_set_subtitle (ADW_ACTION_ROW (advance),
                                 _("When an image's last review item is decided, open the next image"));
    gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
    g_settings_bind (settings, "advance-after-review", toggle, "active", G_SETTINGS_BIND_DEFAULT);
    adw_action_row_add_suffix (ADW_ACTION_ROW (advance), toggle);
    adw_action_row_set_activatable_widget (ADW_ACTION_ROW (advance), toggle);
    gtk_widget_set_name (toggle, "advance-after-review");
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (viewer), advance);
  }

  /* Models folder */
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (models), _("Models"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (models),
                                         _("TF.js model.json files, Darknet .cfg files with their .weights beside "
                                           "them, .tflite files and Ultralytics .onnx exports placed here can be "
                                           "chosen above"));
  row = adw_action_row_new ();
  p->folder_row = ADW_ACTION_ROW (row);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Models Folder"));
  show_folder (p);
  button = gtk_button_new_from_icon_name ("folder-open-symbolic");
  gtk_widget_set_tooltip_text (button, _("Open the folder"));
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  g_signal_connect (button, "clicked", G_CALLBACK (open_folder), p);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
  button = gtk_button_new_with_mnemonic (_("_Change…"));
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_signal_connect (button, "clicked", G_CALLBACK (change_folder), p);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (models), row);

  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (detection));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (viewer));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (models));
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (window), ADW_PREFERENCES_PAGE (page));
  return window;
}
