/* qr-window-actions.c: the window's actions, everything a menu, a key or a test can trigger, and
 * their keys. Each is a few lines that hand the work to the part that owns it: the viewer page
 * (review decisions, heatmap, inspector), the job code (index, detect, review queue), the history
 * (undo), the dialogs. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-window-private.h"
#include "qr-text.h"
#include "qr-export-dialog.h"
#include "qr-import-dialog.h"
#include "qr-preferences.h"
#include "qr-eval-window.h"

#include <glib/gi18n.h>

static void
action_preferences (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  if (self->settings == NULL)
    {
      qr_window_toast (self, _("Preferences need the app's settings schema (run Quorum as installed or from the build tree)"));
      return;
    }
  gtk_window_present (GTK_WINDOW (qr_preferences_new (GTK_WINDOW (self), self->settings)));
}

static void
action_evaluate (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  if (self->catalog == NULL)
    return;
  /* every label when no reviewed image has labels yet: a plot of something rather than of nothing */
  {
    g_autoptr (GPtrArray) reviewed = qr_catalog_list_labels (self->catalog, QR_LABEL_FILTER_REVIEWED, NULL);
    gboolean all = reviewed == NULL || reviewed->len == 0;
    gtk_window_present (GTK_WINDOW (qr_eval_window_new (GTK_WINDOW (self), self->catalog, all)));
  }
}

/* Ctrl+Shift+T: the Caption Model window (one per window; presented again when open). */
static void
action_caption_model (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  if (self->catalog == NULL)
    return;
  if (self->caption_window == NULL)
    {
      self->caption_window = qr_caption_model_window_new (GTK_WINDOW (self), self->catalog);
      g_object_add_weak_pointer (G_OBJECT (self->caption_window), (gpointer *) &self->caption_window);
      if (self->job_cancellable != NULL)
        qr_caption_model_window_refresh (self->caption_window, TRUE, NULL);
    }
  gtk_window_present (GTK_WINDOW (self->caption_window));
}

/* (epochs, restart): from the Caption Model window. */
static void
action_train_caption_model (GtkWidget *widget, const char *name, GVariant *param)
{
  int epochs;
  gboolean restart;
  g_variant_get (param, "(ib)", &epochs, &restart);
  qr_window_start_caption_training (QR_WINDOW (widget), epochs, restart);
}

/* Compute CLIP Embeddings…: the model's folder chosen (starting from the last one), then the job. */
static void
clip_folder_chosen (GtkNativeDialog *dialog, int response, gpointer data)
{
  QrWindow *self = QR_WINDOW (data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;
      if (path != NULL)
        gtk_widget_activate_action (GTK_WIDGET (self), "win.clip-embed", "s", path);
    }
  g_object_unref (dialog);
}

static void
action_clip_embeddings (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autofree char *last = self->settings ? g_settings_get_string (self->settings, "clip-model") : NULL;

  if (self->catalog == NULL)
    return;
  dialog = gtk_file_chooser_native_new (_("Choose a CLIP Model Folder"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Compute Embeddings"), _("_Cancel"));
  if (last != NULL && last[0] != '\0')
    {
      g_autoptr (GFile) file = g_file_new_for_path (last);
      gtk_file_chooser_set_file (GTK_FILE_CHOOSER (dialog), file, NULL);
    }
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (clip_folder_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
action_clip_embed (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  const char *dir = g_variant_get_string (param, NULL);

  if (self->settings != NULL)
    g_settings_set_string (self->settings, "clip-model", dir);
  qr_window_start_clip_embedding (self, dir);
}

static void
action_update_review (GtkWidget *widget, const char *name, GVariant *param)
{
  qr_window_start_review_update (QR_WINDOW (widget));
}

/* Y, N, E, S: a decision on the image on screen's review item (none in the gallery). */
static void
action_review (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  const char *decision = g_str_equal (name, "review.accept") ? "accepted"
                         : g_str_equal (name, "review.keep") ? "kept"
                         : g_str_equal (name, "review.edit") ? "edited"
                                                             : "skipped";

  if (!qr_window_is_viewing (self))
    return;   /* the keys decide on the image on screen, and there is none */
  /* labels may have changed: the sidebar's counts follow; the gallery reloads when the viewer is
     left, so positions do not move under the viewer */
  if (qr_viewer_page_decide (self->viewer, decision))
    {
      qr_window_rebuild_sidebar (self);
      qr_image_list_recount (self->images);
      /* the image's last item decided: on to the next image (Preferences can turn it off); E
         stays to edit */
      if (!g_str_equal (decision, "edited") && qr_catalog_count_open_items (self->catalog, self->viewer_image_id, NULL) == 0
          && (self->settings == NULL || g_settings_get_boolean (self->settings, "advance-after-review"))
          && self->viewer_position + 1 < g_list_model_get_n_items (G_LIST_MODEL (self->images)))
        qr_window_show_image_at (self, self->viewer_position + 1);
    }
}

static void
action_inspector (GtkWidget *widget, const char *name, GVariant *param)
{
  qr_viewer_page_toggle_inspector (QR_WINDOW (widget)->viewer);
}

static void
action_heatmap (GtkWidget *widget, const char *name, GVariant *param)
{
  qr_viewer_page_toggle_heatmap (QR_WINDOW (widget)->viewer);
}

static void
action_search (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  if (self->catalog == NULL)
    return;
  if (qr_window_is_viewing (self))
    qr_window_show_page (self, "gallery");
  qr_gallery_page_start_search (self->gallery);
}

/* T in the viewer: where the search's words are. */
static void
action_phrase_heatmap (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrLexicon) lexicon = NULL;
  g_autoptr (QrTextQuery) query = NULL;
  g_autoptr (GPtrArray) classes = g_ptr_array_new ();

  if (!qr_window_is_viewing (self))
    return;
  if (self->search_text == NULL)
    {
      qr_window_toast (self, _("Search with words first (Ctrl+F): T then shows where they are"));
      return;
    }
  if ((lexicon = qr_lexicon_get_default (&error)) == NULL
      || (query = qr_text_parse (lexicon, self->search_text, &error)) == NULL)
    {
      qr_window_toast (self, error->message);
      return;
    }
  for (guint i = 0; i < query->mentions->len; i++)
    {
      const QrMention *m = &g_array_index (query->mentions, QrMention, i);
      if (m->count != 0 && !g_ptr_array_find_with_equal_func (classes, m->class_name, g_str_equal, NULL))
        g_ptr_array_add (classes, m->class_name);
    }
  g_ptr_array_add (classes, NULL);
  /* the zero-shot scorers' map is the detections' (the viewer's own CenterNet); the caption model,
     the blend and CLIP draw maps of their own */
  qr_viewer_page_toggle_phrase_heatmap (self->viewer, self->search_text, (const char *const *) classes->pdata,
                                        self->search_scorer != NULL && !g_str_equal (self->search_scorer, "zeroshot")
                                        && !g_str_equal (self->search_scorer, "plain") ? self->search_scorer : NULL);
}

static void
folder_chosen (GtkNativeDialog *dialog, int response, QrWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;
      g_autoptr (GError) error = NULL;

      if (path != NULL && !qr_window_open_collection (self, path, &error))
        qr_window_toast (self, error->message);
    }
  g_object_unref (dialog);
}

static void
action_open_folder (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (_("Open a Collection Folder"), GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Open"),
                                                              _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (folder_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
action_open_recent (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  g_autoptr (GError) error = NULL;

  if (!qr_window_open_collection (self, g_variant_get_string (param, NULL), &error))
    qr_window_toast (self, error->message);
}

static void
action_export (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  QrExportDialog *dialog;

  if (self->catalog == NULL)
    return;
  dialog = qr_export_dialog_new (GTK_WINDOW (self), qr_catalog_get_root (self->catalog),
                                 qr_catalog_get_db_path (self->catalog));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* After an import: the labels show in badges, the sidebar and the views. */
static void
labels_imported (QrWindow *self)
{
  qr_image_list_reload (self->images, NULL);
  qr_window_update_subtitle (self);
  qr_window_show_gallery_or_empty (self);
  if (qr_window_is_viewing (self))
    qr_viewer_page_reload_boxes (self->viewer);
}

/* Ctrl+Shift+I */
static void
action_import (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  QrImportDialog *dialog;

  if (self->catalog == NULL)
    {
      qr_window_toast (self, _("Open a collection first: labels are imported onto its images"));
      return;
    }
  dialog = qr_import_dialog_new (GTK_WINDOW (self), qr_catalog_get_root (self->catalog),
                                 qr_catalog_get_db_path (self->catalog));
  g_signal_connect_object (dialog, "imported", G_CALLBACK (labels_imported), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
action_detect (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);

  if (self->catalog == NULL)
    return;
  /* more than one image selected in the gallery: Detect runs over those (one selected image is
   * just where the keyboard is, so the whole collection runs) */
  g_clear_pointer (&self->detect_only, g_array_unref);
  if (g_str_equal (gtk_stack_get_visible_child_name (self->stack), "gallery")
      && (self->detect_only = qr_gallery_page_get_selected_ids (self->gallery)) != NULL)
    {
      g_autofree char *label = g_strdup_printf (_("Detecting objects in %u selected images…"), self->detect_only->len);
      qr_window_start_detect (self, label);
      return;
    }
  qr_window_start_detect (self, _("Detecting objects…"));
}

/* Ctrl+Z, Ctrl+Shift+Z: the history is one list for the collection. A step on another image than
 * the one on screen opens that image first (its box selected); every step says in a toast what
 * it changed, and where. */
static void
action_undo_redo (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  g_autoptr (GError) error = NULL;
  gboolean undo = g_str_equal (name, "win.undo");
  QrHistoryStep step = { -1, -1, NULL };
  gboolean ok;

  if (self->history == NULL)
    return;
  ok = undo ? qr_history_undo_step (self->history, &step, &error) : qr_history_redo_step (self->history, &step, &error);
  if (!ok)
    qr_window_toast (self, error->message);
  else if (step.image_id >= 0)
    {
      g_autoptr (QrImageRecord) record = qr_catalog_get_image (self->catalog, step.image_id, NULL);
      g_autofree char *message = NULL;
      const char *where = record ? record->path : "?";

      if (!qr_window_is_viewing (self) || self->viewer_image_id != step.image_id)
        qr_window_show_image_id (self, step.image_id);
      else
        qr_canvas_reload (qr_viewer_page_get_canvas (self->viewer));
      if (step.label_id > 0)
        qr_canvas_select_label (qr_viewer_page_get_canvas (self->viewer), step.label_id);
      /* the gallery's badge (✓, counts) follows */
      qr_image_list_recount (self->images);
      message = g_strdup_printf (undo ? _("Undone on %s: %s") : _("Redone on %s: %s"), where, step.description);
      qr_window_toast_undo (self, message, undo ? "win.redo" : "win.undo");
    }
  qr_history_step_clear (&step);
  /* an undone decision puts its item back in the inspector */
  if (!ok)
    qr_canvas_reload (qr_viewer_page_get_canvas (self->viewer));
  qr_window_rebuild_sidebar (self);
}

/* M: the image on screen marked reviewed, or unreviewed again when it is (undoable). */
static void
action_mark_reviewed (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  g_autoptr (GError) error = NULL;
  g_autofree char *state = NULL;
  g_autofree char *message = NULL;
  gboolean reviewed;

  if (self->history == NULL || !qr_window_is_viewing (self))
    {
      qr_window_toast (self, _("Open an image to mark it reviewed"));
      return;
    }
  if ((state = qr_catalog_get_reviewed (self->catalog, self->viewer_image_id, &error)) == NULL
      || !qr_history_set_reviewed (self->history, self->viewer_image_id, !(reviewed = g_str_equal (state, "reviewed")),
                                   &error))
    {
      qr_window_toast (self, error->message);
      return;
    }
  qr_image_list_recount (self->images);
  message = g_strdup (reviewed ? _("Marked unreviewed") : _("Marked reviewed"));
  qr_window_toast_undo (self, message, "win.undo");
}

/* U: the next image of the view that is not marked reviewed (from the one on screen, or the
 * gallery's start), opened in the viewer. */
static void
action_next_unreviewed (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) reviewed = NULL;
  g_autoptr (GHashTable) done = g_hash_table_new (g_int64_hash, g_int64_equal);
  GListModel *images = G_LIST_MODEL (self->images);
  guint n = g_list_model_get_n_items (images);
  guint start = qr_window_is_viewing (self) ? self->viewer_position + 1 : 0;

  if (self->catalog == NULL)
    return;
  if ((reviewed = qr_catalog_list_reviewed_ids (self->catalog, &error)) == NULL)
    {
      qr_window_toast (self, error->message);
      return;
    }
  for (guint i = 0; i < reviewed->len; i++)
    g_hash_table_add (done, &g_array_index (reviewed, gint64, i));
  for (guint k = 0; k < n; k++)
    {
      guint i = (start + k) % n;
      g_autoptr (QrImageItem) item = g_list_model_get_item (images, i);
      gint64 id = qr_image_item_get_id (item);
      if (!g_hash_table_contains (done, &id) && qr_image_item_get_state (item) != QR_IMAGE_STATE_UNREADABLE)
        {
          qr_window_show_image_at (self, i);
          return;
        }
    }
  qr_window_toast (self, _("Every image here is reviewed"));
}

static void
action_reindex (GtkWidget *widget, const char *name, GVariant *param)
{
  qr_window_start_index (QR_WINDOW (widget));
}

static void
action_cancel_job (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);

  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
}

static void
action_show_gallery (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  guint n;

  qr_viewer_page_clear (self->viewer);
  /* Edits in the viewer change badges and may move images out of the current view. */
  qr_image_list_reload (self->images, NULL);
  qr_window_update_subtitle (self);
  qr_window_show_page (self, "gallery");
  n = g_list_model_get_n_items (G_LIST_MODEL (self->images));
  if (n > 0)
    qr_gallery_page_scroll_to (self->gallery, MIN (self->viewer_position, n - 1));
}

static void
action_step_image (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->images));
  gboolean next = g_str_equal (name, "win.next-image");

  if (n == 0)
    return;
  if (next && self->viewer_position + 1 < n)
    qr_window_show_image_at (self, self->viewer_position + 1);
  else if (!next && self->viewer_position > 0)
    qr_window_show_image_at (self, self->viewer_position - 1);
}

/* The keys of the window's actions that carry a modifier or are function keys: the application
 * sets them as its accelerators, so the Shortcuts window and menus show them. Single letters
 * stay key bindings of the window (an application accelerator would take them from text
 * entries); the Shortcuts window names those with its "accelerator" property. */
static const QrWindowAccel accels[] = {
  { "win.open-folder", { "<Control>o", NULL } },
  { "win.reindex", { "F5", NULL } },
  { "win.detect", { "<Control>r", NULL } },
  { "win.export", { "<Control>e", NULL } },
  { "win.import", { "<Control><Shift>i", NULL } },
  { "win.inspector", { "F9", NULL } },
  { "win.evaluate", { "<Control>i", NULL } },
  { "win.caption-model", { "<Control><Shift>t", NULL } },
  { "win.preferences", { "<Control>comma", NULL } },
  { "win.cancel-job", { "<Control>period", NULL } },
  { "win.search", { "<Control>f", NULL } },
  { "win.undo", { "<Control>z", NULL } },
  { "win.redo", { "<Control><Shift>z", NULL } },
  { NULL, { NULL } },
};

const QrWindowAccel *
qr_window_get_accels (void)
{
  return accels;
}

void
qr_window_class_add_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.open-folder", NULL, action_open_folder);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", action_open_recent);
  gtk_widget_class_install_action (widget_class, "win.reindex", NULL, action_reindex);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, action_export);
  gtk_widget_class_install_action (widget_class, "win.import", NULL, action_import);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.import", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_I, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.import", NULL);
  gtk_widget_class_install_action (widget_class, "win.detect", NULL, action_detect);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, action_undo_redo);
  gtk_widget_class_install_action (widget_class, "win.heatmap", NULL, action_heatmap);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, action_search);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search", NULL);
  gtk_widget_class_install_action (widget_class, "win.phrase-heatmap", NULL, action_phrase_heatmap);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_t, 0, "win.phrase-heatmap", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_h, 0, "win.heatmap", NULL);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, action_undo_redo);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_install_action (widget_class, "win.cancel-job", NULL, action_cancel_job);
  gtk_widget_class_install_action (widget_class, "win.preferences", NULL, action_preferences);
  gtk_widget_class_install_action (widget_class, "win.inspector", NULL, action_inspector);
  gtk_widget_class_install_action (widget_class, "win.evaluate", NULL, action_evaluate);
  gtk_widget_class_install_action (widget_class, "win.caption-model", NULL, action_caption_model);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_t, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.caption-model", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_T, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.caption-model", NULL);
  gtk_widget_class_install_action (widget_class, "win.train-caption-model", "(ib)", action_train_caption_model);
  gtk_widget_class_install_action (widget_class, "win.clip-embeddings", NULL, action_clip_embeddings);
  gtk_widget_class_install_action (widget_class, "win.clip-embed", "s", action_clip_embed);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK, "win.evaluate", NULL);
  gtk_widget_class_install_action (widget_class, "review.accept", NULL, action_review);
  gtk_widget_class_install_action (widget_class, "review.keep", NULL, action_review);
  gtk_widget_class_install_action (widget_class, "review.edit", NULL, action_review);
  gtk_widget_class_install_action (widget_class, "review.skip", NULL, action_review);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_y, 0, "review.accept", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, 0, "review.keep", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, 0, "review.edit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, 0, "review.skip", NULL);
  gtk_widget_class_install_action (widget_class, "win.update-review", NULL, action_update_review);
  gtk_widget_class_install_action (widget_class, "win.mark-reviewed", NULL, action_mark_reviewed);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, 0, "win.mark-reviewed", NULL);
  gtk_widget_class_install_action (widget_class, "win.next-unreviewed", NULL, action_next_unreviewed);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_u, 0, "win.next-unreviewed", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0, "win.inspector", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_comma, GDK_CONTROL_MASK, "win.preferences", NULL);
  gtk_widget_class_install_action (widget_class, "win.show-gallery", NULL, action_show_gallery);
  gtk_widget_class_install_action (widget_class, "win.next-image", NULL, action_step_image);
  gtk_widget_class_install_action (widget_class, "win.previous-image", NULL, action_step_image);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open-folder", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "win.reindex", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "win.detect", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_period, GDK_CONTROL_MASK, "win.cancel-job", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.show-gallery", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_j, 0, "win.next-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Down, 0, "win.next-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "win.next-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_k, 0, "win.previous-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Up, 0, "win.previous-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "win.previous-image", NULL);
}
