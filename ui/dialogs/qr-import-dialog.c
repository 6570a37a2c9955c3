/* qr-import-dialog.c: see qr-import-dialog.h. The same checks and messages as `quorum import`:
 * both call qr_dataset_import; the dialog only gathers the choices and shows the outcome. */
#define G_LOG_DOMAIN "quorum-import"

#include "qr-import-dialog.h"
#include "qr-dataset.h"
#include "qr-progress.h"

#include <glib/gi18n.h>

/* the format row's choices, in order */
static const QrDatasetFormat formats[] = { QR_DATASET_COCO, QR_DATASET_YOLO, QR_DATASET_VOC, QR_DATASET_CSV };

struct _QrImportDialog
{
  AdwWindow        parent_instance;

  /* Owned widgets of interest (children of the window) */
  AdwComboRow     *format_row;
  AdwActionRow    *path_row;
  AdwActionRow    *names_row;
  AdwActionRow    *captions_row;
  GtkSwitch       *missing_switch;
  AdwComboRow     *mode_row;
  GtkProgressBar  *progress;
  GtkButton       *import_button;
  GtkLabel        *message;

  /* Owned references */
  char            *root;
  char            *db_path;
  char            *path;          /* the dataset's file or folder */
  char            *names_path;    /* YOLO class names, NULL: found in the folder */
  char            *captions_path;
  GCancellable    *cancellable;
};

G_DEFINE_FINAL_TYPE (QrImportDialog, qr_import_dialog, ADW_TYPE_WINDOW)

enum { IMPORTED, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef struct
{
  char            *root, *db_path, *path, *names_path, *captions_path;
  QrImportOptions  options;
  QrImportStats    stats;
  QrImportDialog  *dialog;
} ImportJob;

static void
import_job_free (ImportJob *job)
{
  g_free (job->root);
  g_free (job->db_path);
  g_free (job->path);
  g_free (job->names_path);
  g_free (job->captions_path);
  g_free (job);
}

static void
import_progress (guint64 done, guint64 total, gpointer data)
{
  ImportJob *job = data;
  qr_progress_post (job->dialog->progress, done, total);
}

static void
run_import (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ImportJob *job = task_data;
  GError *error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (job->root, job->db_path, &error);

  if (catalog == NULL
      || !qr_dataset_import (catalog, &job->options, &job->stats, import_progress, job, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
set_message (QrImportDialog *self, const char *text, gboolean is_error)
{
  gtk_label_set_text (self->message, text);
  gtk_widget_set_visible (GTK_WIDGET (self->message), text[0] != '\0');
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->message), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->message), "error");
}

static void
set_busy (QrImportDialog *self, gboolean busy)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->format_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->path_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->names_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->captions_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->missing_switch), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->mode_row), !busy);
  gtk_button_set_label (self->import_button, busy ? _("_Cancel") : _("_Import"));
  gtk_widget_set_visible (GTK_WIDGET (self->progress), busy);
}

static void
import_done (GObject *source, GAsyncResult *result, gpointer data)
{
  QrImportDialog *self = QR_IMPORT_DIALOG (source);
  ImportJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);

  g_clear_object (&self->cancellable);
  set_busy (self, FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      set_message (self, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                           ? _("Import cancelled: nothing was stored")
                           : error->message, TRUE);
      return;
    }
  if (job->stats.already_imported)
    {
      g_autoptr (GDateTime) at = g_date_time_new_from_unix_local (job->stats.already_at_us / G_USEC_PER_SEC);
      g_autofree char *when = g_date_time_format (at, "%Y-%m-%d %H:%M");
      g_autofree char *said = g_strdup_printf (_("Already imported on %s (%" G_GINT64_FORMAT " labels): nothing added. "
                                                 "Choose Replace to import it again in its place, or Add to add it "
                                                 "beside"), when, job->stats.already_labels);
      set_message (self, said, TRUE);
      return;
    }
  g_string_printf (text, _("Imported %u labels on %u images (%u classes named)"), job->stats.labels,
                   job->stats.images, job->stats.classes);
  if (job->stats.replaced_labels > 0)
    g_string_append_printf (text, _(", in place of %" G_GINT64_FORMAT " labels of the earlier import"),
                            job->stats.replaced_labels);
  if (job->stats.captions > 0)
    g_string_append_printf (text, _(", %u captions"), job->stats.captions);
  if (job->stats.skipped > 0)
    g_string_append_printf (text, _("; %u images not in the collection were skipped"), job->stats.skipped);
  set_message (self, text->str, FALSE);
  g_signal_emit (self, signals[IMPORTED], 0);
}

void
qr_import_dialog_start (QrImportDialog *self)
{
  g_autoptr (GTask) task = NULL;
  ImportJob *job;
  guint format = adw_combo_row_get_selected (self->format_row);

  if (self->path == NULL)
    {
      set_message (self, format == 1 || format == 2 ? _("Choose the dataset's folder first")
                                                    : _("Choose the dataset's file first"), TRUE);
      return;
    }
  job = g_new0 (ImportJob, 1);
  job->root = g_strdup (self->root);
  job->db_path = g_strdup (self->db_path);
  job->path = g_strdup (self->path);
  job->names_path = g_strdup (self->names_path);
  job->captions_path = g_strdup (self->captions_path);
  job->dialog = self;
  job->options.format = formats[MIN (format, G_N_ELEMENTS (formats) - 1)];
  job->options.path = job->path;
  job->options.names_path = job->options.format == QR_DATASET_YOLO ? job->names_path : NULL;
  job->options.captions_path = job->captions_path;
  job->options.allow_missing = gtk_switch_get_active (self->missing_switch);
  job->options.mode = (QrImportMode) adw_combo_row_get_selected (self->mode_row);

  set_message (self, "", FALSE);
  self->cancellable = g_cancellable_new ();
  task = g_task_new (self, self->cancellable, import_done, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) import_job_free);
  set_busy (self, TRUE);
  gtk_progress_bar_set_fraction (self->progress, 0);
  g_task_run_in_thread (task, run_import);
}

static void
import_clicked (GtkButton *button, QrImportDialog *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  else
    qr_import_dialog_start (self);
}

/* Choosing files: which row the chooser fills is in its data */

static void
show_path (AdwActionRow *row, const char *path, const char *none)
{
  adw_action_row_set_subtitle (row, path != NULL ? path : none);
}

static void
chosen (GtkNativeDialog *chooser, int response, QrImportDialog *self)
{
  char **slot = g_object_get_data (G_OBJECT (chooser), "slot");
  AdwActionRow *row = g_object_get_data (G_OBJECT (chooser), "row");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_free (*slot);
      *slot = g_file_get_path (file);
      show_path (row, *slot, "");
      set_message (self, "", FALSE);
    }
  g_object_unref (chooser);
}

static void
choose (QrImportDialog *self, const char *title, gboolean folder, char **slot, AdwActionRow *row)
{
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self),
                                                               folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                                                      : GTK_FILE_CHOOSER_ACTION_OPEN,
                                                               _("_Select"), _("_Cancel"));
  g_object_set_data (G_OBJECT (chooser), "slot", slot);
  g_object_set_data (G_OBJECT (chooser), "row", row);
  g_signal_connect (chooser, "response", G_CALLBACK (chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
choose_dataset (QrImportDialog *self)
{
  guint format = adw_combo_row_get_selected (self->format_row);
  choose (self, _("The Dataset"), format == 1 || format == 2, &self->path, self->path_row);
}

static void
choose_names (QrImportDialog *self)
{
  choose (self, _("The Class Names File"), FALSE, &self->names_path, self->names_row);
}

static void
choose_captions (QrImportDialog *self)
{
  choose (self, _("A COCO Captions File"), FALSE, &self->captions_path, self->captions_row);
}

/* The rows follow the format: a file or a folder, names for YOLO only. */
static void
format_changed (QrImportDialog *self)
{
  static const char *const what[] = { N_("A COCO JSON file (instances_*.json)"),
                                      N_("A YOLO folder: labels/*.txt beside the images, classes.txt or obj.names"),
                                      N_("A folder of Pascal VOC XML files"),
                                      N_("A CSV file: image,x1,y1,x2,y2,class") };
  guint format = MIN (adw_combo_row_get_selected (self->format_row), G_N_ELEMENTS (what) - 1);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->path_row), format == 1 || format == 2 ? _("Folder")
                                                                                                  : _("File"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->format_row), _(what[format]));
  gtk_widget_set_visible (GTK_WIDGET (self->names_row), formats[format] == QR_DATASET_YOLO);
}

static AdwActionRow *
chooser_row (AdwPreferencesGroup *group, const char *title, const char *subtitle, GCallback clicked,
             QrImportDialog *self)
{
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());
  GtkWidget *button = gtk_button_new_from_icon_name ("document-open-symbolic");

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (row, subtitle);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, _("Choose…"));
  gtk_widget_add_css_class (button, "flat");
  g_signal_connect_swapped (button, "clicked", clicked, self);
  adw_action_row_add_suffix (row, button);
  adw_action_row_set_activatable_widget (row, button);
  adw_preferences_group_add (group, GTK_WIDGET (row));
  return row;
}

static void
qr_import_dialog_dispose (GObject *object)
{
  QrImportDialog *self = QR_IMPORT_DIALOG (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (qr_import_dialog_parent_class)->dispose (object);
}

static void
qr_import_dialog_finalize (GObject *object)
{
  QrImportDialog *self = QR_IMPORT_DIALOG (object);

  g_free (self->root);
  g_free (self->db_path);
  g_free (self->path);
  g_free (self->names_path);
  g_free (self->captions_path);
  G_OBJECT_CLASS (qr_import_dialog_parent_class)->finalize (object);
}

static void
qr_import_dialog_class_init (QrImportDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = qr_import_dialog_dispose;
  G_OBJECT_CLASS (klass)->finalize = qr_import_dialog_finalize;
  signals[IMPORTED] = g_signal_new ("imported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 0);
  gtk_widget_class_add_binding_action (GTK_WIDGET_CLASS (klass), GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
qr_import_dialog_init (QrImportDialog *self)
{
  static const char *const names[] = { "COCO JSON", "YOLO / Darknet", "Pascal VOC XML", "CSV", NULL };
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *page = adw_preferences_page_new ();
  AdwPreferencesGroup *what = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  AdwPreferencesGroup *more = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  g_autoptr (GtkStringList) model = gtk_string_list_new (names);
  GtkWidget *missing = adw_action_row_new ();

  gtk_window_set_title (GTK_WINDOW (self), _("Import Labels"));
  gtk_window_set_default_size (GTK_WINDOW (self), 560, 600);
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);

  self->import_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Import")));
  gtk_widget_add_css_class (GTK_WIDGET (self->import_button), "suggested-action");
  g_signal_connect (self->import_button, "clicked", G_CALLBACK (import_clicked), self);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), GTK_WIDGET (self->import_button));
  gtk_box_append (GTK_BOX (box), header);

  adw_preferences_group_set_title (what, _("Dataset"));
  adw_preferences_group_set_description (what, _("Labels are added to the images of this collection they name; "
                                                 "nothing is stored unless the whole file reads"));
  self->format_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->format_row), _("Format"));
  adw_combo_row_set_model (self->format_row, G_LIST_MODEL (model));
  adw_preferences_group_add (what, GTK_WIDGET (self->format_row));
  self->path_row = chooser_row (what, _("File"), _("None chosen"), G_CALLBACK (choose_dataset), self);
  self->names_row = chooser_row (what, _("Class Names"), _("Found in the folder (classes.txt, obj.names)"),
                                 G_CALLBACK (choose_names), self);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), what);

  adw_preferences_group_set_title (more, _("Also"));
  self->captions_row = chooser_row (more, _("Captions"), _("None: a COCO captions file is optional"),
                                    G_CALLBACK (choose_captions), self);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (missing), _("Skip Images Not in the Collection"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (missing), _("Else a label for an image the collection lacks is an "
                                                           "error and nothing is imported"));
  self->missing_switch = GTK_SWITCH (gtk_switch_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->missing_switch), GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (missing), GTK_WIDGET (self->missing_switch));
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (missing), GTK_WIDGET (self->missing_switch));
  adw_preferences_group_add (more, missing);
  {
    static const char *const modes[] = { N_("Skip it"), N_("Replace the earlier labels"), N_("Add them again"), NULL };
    g_autoptr (GtkStringList) choices = gtk_string_list_new (NULL);
    for (guint i = 0; modes[i] != NULL; i++)
      gtk_string_list_append (choices, _(modes[i]));
    self->mode_row = ADW_COMBO_ROW (adw_combo_row_new ());
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->mode_row), _("If Imported Before"));
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->mode_row), _("The same labels read again, from this or "
                                                                    "another copy"));
    adw_combo_row_set_model (self->mode_row, G_LIST_MODEL (choices));
    adw_preferences_group_add (more, GTK_WIDGET (self->mode_row));
  }
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), more);

  self->message = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_wrap (self->message, TRUE);
  gtk_label_set_selectable (self->message, TRUE);
  gtk_label_set_xalign (self->message, 0);
  gtk_widget_set_margin_start (GTK_WIDGET (self->message), 24);
  gtk_widget_set_margin_end (GTK_WIDGET (self->message), 24);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->message), 12);
  gtk_widget_set_visible (GTK_WIDGET (self->message), FALSE);
  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_margin_start (GTK_WIDGET (self->progress), 24);
  gtk_widget_set_margin_end (GTK_WIDGET (self->progress), 24);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->progress), 18);
  gtk_widget_set_visible (GTK_WIDGET (self->progress), FALSE);

  gtk_widget_set_vexpand (page, TRUE);
  gtk_box_append (GTK_BOX (box), page);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->message));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress));
  adw_window_set_content (ADW_WINDOW (self), box);
  g_signal_connect_swapped (self->format_row, "notify::selected", G_CALLBACK (format_changed), self);
  format_changed (self);
}

QrImportDialog *
qr_import_dialog_new (GtkWindow *parent, const char *root, const char *db_path)
{
  QrImportDialog *self = g_object_new (QR_TYPE_IMPORT_DIALOG, "transient-for", parent, NULL);

  self->root = g_strdup (root);
  self->db_path = g_strdup (db_path);
  return self;
}

void
qr_import_dialog_set_dataset (QrImportDialog *self, const char *format, const char *path)
{
  QrDatasetFormat f;

  if (format != NULL && qr_dataset_format_from_string (format, &f))
    for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
      if (formats[i] == f)
        adw_combo_row_set_selected (self->format_row, i);
  g_free (self->path);
  self->path = g_strdup (path);
  show_path (self->path_row, path, _("None chosen"));
}

void
qr_import_dialog_set_mode (QrImportDialog *self, const char *mode)
{
  QrImportMode m;
  if (qr_import_mode_from_string (mode, &m))
    adw_combo_row_set_selected (self->mode_row, (guint) m);
}

void
qr_import_dialog_set_captions (QrImportDialog *self, const char *path)
{
  g_free (self->captions_path);
  self->captions_path = g_strdup (path);
  show_path (self->captions_row, path, _("None: a COCO captions file is optional"));
}

gboolean
qr_import_dialog_is_busy (QrImportDialog *self)
{
  return self->cancellable != NULL;
}

const char *
qr_import_dialog_get_message (QrImportDialog *self)
{
  return gtk_label_get_text (self->message);
}
