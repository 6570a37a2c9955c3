/* qr-canvas-edit.c: editing on the canvas, each edit through the undo history (qr-history.h) and
 * so into the catalog at once: a click selects (labels before model boxes, the smallest first); a
 * drag moves a label or resizes it by its handles, or draws a new box (B, or on empty space at fit
 * size); the edit actions delete, accept, reject, set the class (1–9) and nudge; C picks a class
 * by name. */
#define G_LOG_DOMAIN "quorum-canvas"

#include "qr-canvas-private.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

static void
to_image (QrCanvas *self, double wx, double wy, double *ix, double *iy)
{
  double ox, oy, s;
  qr_canvas_image_rect (self, &ox, &oy, &s);
  *ix = (wx - ox) / s;
  *iy = (wy - oy) / s;
}

/* The box under a point: labels before detections, the smallest first. */
static int
hit_test (QrCanvas *self, double ix, double iy)
{
  int best = -1;
  double best_area = G_MAXDOUBLE;
  gboolean best_label = FALSE;

  for (guint i = 0; self->overlays != NULL && i < self->overlays->len; i++)
    {
      QrOverlayBox *b = self->overlays->pdata[i];
      double area = (b->box.x2 - b->box.x1) * (b->box.y2 - b->box.y1);
      if (!qr_canvas_box_visible (self, b) || ix < b->box.x1 || ix > b->box.x2 || iy < b->box.y1 || iy > b->box.y2)
        continue;
      if ((b->is_label && !best_label) || (b->is_label == best_label && area < best_area))
        best = (int) i, best_area = area, best_label = b->is_label;
    }
  return best;
}

static QrOverlayBox *
selected_box (QrCanvas *self)
{
  if (self->selected < 0 || self->overlays == NULL || (guint) self->selected >= self->overlays->len)
    return NULL;
  return self->overlays->pdata[self->selected];
}

static void
report (QrCanvas *self, GError *error)
{
  GtkWidget *overlay;
  AdwToast *toast;

  if (error == NULL)
    return;
  /* an edit the catalog refused (a full disk, a read-only file) is said where the user looks:
   * nothing of it was stored, and the undo history is as it was */
  overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  if (overlay != NULL)
    {
      g_object_set_data_full (G_OBJECT (overlay), "last-toast", g_strdup (error->message), g_free);
      toast = adw_toast_new (error->message);
      adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
      adw_toast_set_timeout (toast, 0);
      adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
    }
  else
    g_message ("%s", error->message);
  g_error_free (error);
}

void
qr_canvas_reload (QrCanvas *self)
{
  QrOverlayBox *sel = selected_box (self);
  gint64 id = sel ? sel->id : -1;
  gboolean was_label = sel ? sel->is_label : FALSE;

  if (self->history == NULL)
    return;
  g_clear_pointer (&self->overlays, g_ptr_array_unref);
  self->overlays = qr_catalog_list_overlays (qr_history_get_catalog (self->history), self->image_id, NULL);
  self->selected = -1;
  for (guint i = 0; id >= 0 && self->overlays != NULL && i < self->overlays->len; i++)
    {
      QrOverlayBox *b = self->overlays->pdata[i];
      if (b->id == id && b->is_label == was_label)
        self->selected = (int) i;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
  qr_canvas_emit_changed (self);
}

static void
select_label_id (QrCanvas *self, gint64 label_id)
{
  for (guint i = 0; self->overlays != NULL && i < self->overlays->len; i++)
    {
      QrOverlayBox *b = self->overlays->pdata[i];
      if (b->is_label && b->id == label_id)
        self->selected = (int) i;
    }
}

/* The classes in the order the picker lists them and 1–9 pick them: those with labels in the
 * collection first, then the others, each part in the catalog's order. */
static GPtrArray *
ordered_classes (QrCanvas *self)
{
  QrCatalog *catalog = qr_history_get_catalog (self->history);
  g_autoptr (GPtrArray) all = qr_catalog_list_classes (catalog, NULL);
  g_autoptr (GArray) ids = NULL, labelled = NULL, predicted = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  if (all == NULL)
    return out;
  /* (labels only: no model box scores above 1.1) */
  if (qr_catalog_class_counts (catalog, 1.1, &ids, &names, &labelled, &predicted, NULL))
    for (guint i = 0; i < names->len; i++)
      if (g_array_index (labelled, gint64, i) > 0)
        g_hash_table_add (used, g_strdup (names->pdata[i]));
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < all->len; i++)
      if (g_hash_table_contains (used, all->pdata[i]) == (pass == 0))
        g_ptr_array_add (out, g_strdup (all->pdata[i]));
  return out;
}

gboolean
qr_canvas_select_label (QrCanvas *self, gint64 label_id)
{
  self->selected = -1;
  select_label_id (self, label_id);
  if (self->selected >= 0 && self->history != NULL)
    {
      gint64 class_id;
      QrBox box;
      if (qr_catalog_get_label (qr_history_get_catalog (self->history), label_id, &class_id, &box, NULL))
        self->class_id = class_id;
    }
  gtk_widget_grab_focus (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
  qr_canvas_emit_selection (self);
  return self->selected >= 0;
}

gboolean
qr_canvas_start_drawing (QrCanvas *self, gint64 class_id)
{
  if (self->history == NULL)
    return FALSE;
  self->draw_mode = TRUE;
  if (class_id > 0)
    self->class_id = class_id;
  gtk_widget_grab_focus (GTK_WIDGET (self));
  return TRUE;
}

void
qr_canvas_on_drag_begin (GtkGestureDrag *gesture, double x, double y, QrCanvas *self)
{
  QrOverlayBox *sel = selected_box (self);
  double ix, iy, ox, oy, s;

  self->press_x = x;
  self->press_y = y;
  self->drag_start_x = self->pan_x;
  self->drag_start_y = self->pan_y;
  self->drag_mode = DRAG_PAN;
  if (self->history == NULL || self->space_down)
    return;
  to_image (self, x, y, &ix, &iy);
  qr_canvas_image_rect (self, &ox, &oy, &s);
  if (self->draw_mode)
    {
      self->drag_mode = DRAG_DRAW;
      self->drag_box = (QrBox) { ix, iy, ix, iy };
      return;
    }
  if (sel != NULL && sel->is_label)
    {
      for (int h = 0; h < 8; h++)
        {
          double hx, hy;
          qr_canvas_handle_position (&sel->box, h, &hx, &hy);
          if (fabs (ox + hx * s - x) <= 8 && fabs (oy + hy * s - y) <= 8)
            {
              self->drag_mode = DRAG_RESIZE;
              self->handle = h;
              self->drag_box = self->drag_origin = sel->box;
              return;
            }
        }
      if (ix >= sel->box.x1 && ix <= sel->box.x2 && iy >= sel->box.y1 && iy <= sel->box.y2)
        {
          self->drag_mode = DRAG_MOVE;
          self->drag_box = self->drag_origin = sel->box;
          return;
        }
    }
  /* On empty space at fit size there is nothing to pan: a drag there draws a new box. Zoomed in,
   * a drag pans, and B (or Space for panning over boxes) says which is meant. */
  if (self->zoom <= 1.0 + 1e-9 && hit_test (self, ix, iy) < 0 && ix >= 0 && iy >= 0 && ix <= self->image_width
      && iy <= self->image_height)
    {
      self->drag_mode = DRAG_DRAW;
      self->drag_box = (QrBox) { ix, iy, ix, iy };
    }
}

void
qr_canvas_on_drag_update (GtkGestureDrag *gesture, double dx, double dy, QrCanvas *self)
{
  double ox, oy, s, ix, iy;

  qr_canvas_image_rect (self, &ox, &oy, &s);
  switch (self->drag_mode)
    {
    case DRAG_MOVE:
      self->drag_box.x1 = self->drag_origin.x1 + dx / s;
      self->drag_box.x2 = self->drag_origin.x2 + dx / s;
      self->drag_box.y1 = self->drag_origin.y1 + dy / s;
      self->drag_box.y2 = self->drag_origin.y2 + dy / s;
      break;
    case DRAG_RESIZE:
      {
        QrBox b = self->drag_origin;
        int h = self->handle;
        if (h == 0 || h == 6 || h == 7)
          b.x1 += dx / s;
        if (h == 2 || h == 3 || h == 4)
          b.x2 += dx / s;
        if (h == 0 || h == 1 || h == 2)
          b.y1 += dy / s;
        if (h == 4 || h == 5 || h == 6)
          b.y2 += dy / s;
        self->drag_box = (QrBox) { MIN (b.x1, b.x2), MIN (b.y1, b.y2), MAX (b.x1, b.x2), MAX (b.y1, b.y2) };
        break;
      }
    case DRAG_DRAW:
      to_image (self, self->press_x, self->press_y, &ix, &iy);
      self->drag_box = (QrBox) { MIN (ix, ix + dx / s), MIN (iy, iy + dy / s), MAX (ix, ix + dx / s),
                                 MAX (iy, iy + dy / s) };
      break;
    default:
      self->pan_x = self->drag_start_x + dx;
      self->pan_y = self->drag_start_y + dy;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
clamp_box (QrCanvas *self, QrBox *b)
{
  if (self->image_width <= 0 || self->image_height <= 0)
    return; /* no image yet: nothing to clamp to */
  b->x1 = CLAMP (b->x1, 0, self->image_width);
  b->x2 = CLAMP (b->x2, 0, self->image_width);
  b->y1 = CLAMP (b->y1, 0, self->image_height);
  b->y2 = CLAMP (b->y2, 0, self->image_height);
}

static gint64
draw_class (QrCanvas *self)
{
  if (self->class_id <= 0)
    self->class_id = qr_catalog_ensure_class (qr_history_get_catalog (self->history), "object", NULL);
  return self->class_id;
}

void
qr_canvas_on_drag_end (GtkGestureDrag *gesture, double dx, double dy, QrCanvas *self)
{
  QrOverlayBox *sel = selected_box (self);
  GError *error = NULL;
  int mode = self->drag_mode;

  self->drag_mode = DRAG_PAN;
  if (self->history == NULL || (fabs (dx) < 2 && fabs (dy) < 2))
    {
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }
  clamp_box (self, &self->drag_box);
  if ((mode == DRAG_MOVE || mode == DRAG_RESIZE) && sel != NULL)
    {
      gint64 class_id;
      QrBox old;
      if (qr_catalog_get_label (qr_history_get_catalog (self->history), sel->id, &class_id, &old, &error))
        qr_history_update_label (self->history, sel->id, class_id, &self->drag_box, &error);
      report (self, error);
      qr_canvas_reload (self);
    }
  else if (mode == DRAG_DRAW && self->drag_box.x2 - self->drag_box.x1 >= 2 && self->drag_box.y2 - self->drag_box.y1 >= 2)
    {
      gint64 id = qr_history_add_label (self->history, self->image_id, draw_class (self), &self->drag_box,
                                        QR_LABEL_SOURCE_DRAWN, "drawn in the viewer", &error);
      report (self, error);
      self->draw_mode = FALSE;
      qr_canvas_reload (self);
      select_label_id (self, id);
      qr_canvas_emit_changed (self);
      /* a new box asks for its class at once (Escape keeps the last class used) */
      if (id > 0)
        gtk_widget_activate_action (GTK_WIDGET (self), "canvas.pick-class", NULL);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
qr_canvas_on_click (GtkGestureClick *gesture, int n_press, double x, double y, QrCanvas *self)
{
  double ix, iy;
  QrOverlayBox *b;

  gtk_widget_grab_focus (GTK_WIDGET (self));
  to_image (self, x, y, &ix, &iy);
  self->selected = hit_test (self, ix, iy);
  b = selected_box (self);
  if (b != NULL && b->is_label && self->history != NULL)
    {
      gint64 class_id;
      QrBox box;
      if (qr_catalog_get_label (qr_history_get_catalog (self->history), b->id, &class_id, &box, NULL))
        self->class_id = class_id;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
  qr_canvas_emit_selection (self);
}

void
qr_canvas_action_edit (GtkWidget *widget, const char *name, GVariant *param)
{
  QrCanvas *self = QR_CANVAS (widget);
  QrOverlayBox *b = selected_box (self);
  GError *error = NULL;

  if (g_str_equal (name, "canvas.draw"))
    {
      self->draw_mode = self->history != NULL;
      return;
    }
  if (b == NULL || self->history == NULL)
    return;
  if (g_str_equal (name, "canvas.delete") && b->is_label)
    {
      qr_history_delete_label (self->history, b->id, &error);
      self->selected = -1;
    }
  else if (g_str_equal (name, "canvas.accept") && !b->is_label)
    {
      gint64 id = qr_history_accept_detection (self->history, b->id, &error);
      report (self, error);
      qr_canvas_reload (self);
      select_label_id (self, id);
      gtk_widget_queue_draw (widget);
      qr_canvas_emit_changed (self);
      return;
    }
  else if (g_str_equal (name, "canvas.reject") && !b->is_label)
    {
      /* stored, so it stays rejected after a restart; Ctrl+Z brings it back */
      qr_history_reject_detection (self->history, b->id, &error);
      self->selected = -1;
    }
  else if (g_str_equal (name, "canvas.class") && b->is_label)
    {
      g_autoptr (GPtrArray) classes = ordered_classes (self);
      int n = g_variant_get_int32 (param);
      gint64 class_id;
      if (classes != NULL && n >= 1 && (guint) n <= classes->len)
        {
          class_id = qr_catalog_ensure_class (qr_history_get_catalog (self->history), classes->pdata[n - 1], &error);
          if (class_id > 0)
            {
              qr_history_update_label (self->history, b->id, class_id, &b->box, &error);
              self->class_id = class_id;
            }
        }
    }
  else if (g_str_equal (name, "canvas.nudge") && b->is_label)
    {
      int dx, dy;
      gint64 class_id;
      QrBox box;
      g_variant_get (param, "(ii)", &dx, &dy);
      if (qr_catalog_get_label (qr_history_get_catalog (self->history), b->id, &class_id, &box, &error))
        {
          box.x1 += dx, box.x2 += dx, box.y1 += dy, box.y2 += dy;
          clamp_box (self, &box);
          qr_history_update_label (self->history, b->id, class_id, &box, &error);
        }
    }
  report (self, error);
  qr_canvas_reload (self);
}

/* The class picker (C): a search entry over the catalog's classes. Enter takes the first
 * match, or makes a new class of what was typed when nothing matches. */
static void
apply_class (QrCanvas *self, const char *name)
{
  QrOverlayBox *b = selected_box (self);
  QrCatalog *catalog;
  GError *error = NULL;
  gint64 class_id, label_id, old_class;
  QrBox box;

  gtk_popover_popdown (GTK_POPOVER (self->class_popover));
  if (b == NULL || self->history == NULL || name == NULL || *name == '\0')
    return;
  catalog = qr_history_get_catalog (self->history);
  label_id = b->is_label ? b->id : qr_history_accept_detection (self->history, b->id, &error);
  if (label_id > 0 && (class_id = qr_catalog_ensure_class (catalog, name, &error)) > 0
      && qr_catalog_get_label (catalog, label_id, &old_class, &box, &error))
    {
      if (old_class != class_id)
        qr_history_update_label (self->history, label_id, class_id, &box, &error);
      self->class_id = class_id;
    }
  report (self, error);
  qr_canvas_reload (self);
  if (label_id > 0)
    select_label_id (self, label_id);
  gtk_widget_grab_focus (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
class_row_matches (GtkListBoxRow *row, gpointer data)
{
  QrCanvas *self = data;
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->class_entry));
  g_autofree char *name = g_utf8_casefold (gtk_widget_get_name (GTK_WIDGET (row)), -1);
  g_autofree char *needle = g_utf8_casefold (query, -1);

  return strstr (name, needle) != NULL;
}

static void
class_query_changed (QrCanvas *self)
{
  gtk_list_box_invalidate_filter (GTK_LIST_BOX (self->class_list));
}

static void
class_entry_activated (QrCanvas *self)
{
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->class_entry));
  g_autofree char *typed = g_strstrip (g_strdup (query));

  for (GtkWidget *row = gtk_widget_get_first_child (self->class_list); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (GTK_IS_LIST_BOX_ROW (row) && class_row_matches (GTK_LIST_BOX_ROW (row), self))
      {
        apply_class (self, gtk_widget_get_name (row));
        return;
      }
  apply_class (self, typed);   /* no match: a new class */
}

static void
class_row_activated (GtkListBox *box, GtkListBoxRow *row, QrCanvas *self)
{
  apply_class (self, gtk_widget_get_name (GTK_WIDGET (row)));
}

static void
ensure_class_popover (QrCanvas *self)
{
  GtkWidget *box, *scroller;

  if (self->class_popover != NULL)
    return;
  self->class_popover = gtk_popover_new ();
  gtk_widget_set_parent (self->class_popover, GTK_WIDGET (self));
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  self->class_entry = gtk_search_entry_new ();
  g_object_set (self->class_entry, "placeholder-text", _("Class name"), NULL);
  self->class_list = gtk_list_box_new ();
  gtk_list_box_set_filter_func (GTK_LIST_BOX (self->class_list), class_row_matches, self, NULL);
  gtk_list_box_set_activate_on_single_click (GTK_LIST_BOX (self->class_list), TRUE);
  scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  /* a fixed height: the popover stays where it opened while the list filters under the typing */
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scroller), 240);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroller), 240);
  gtk_widget_set_size_request (scroller, 220, -1);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), self->class_list);
  gtk_box_append (GTK_BOX (box), self->class_entry);
  gtk_box_append (GTK_BOX (box), scroller);
  gtk_popover_set_child (GTK_POPOVER (self->class_popover), box);
  g_signal_connect_swapped (self->class_entry, "search-changed", G_CALLBACK (class_query_changed), self);
  g_signal_connect_swapped (self->class_entry, "activate", G_CALLBACK (class_entry_activated), self);
  /* Escape in the entry is the search entry's "stop-search": it closes the picker (the new box
     keeps the last class used) instead of only clearing the text */
  g_signal_connect_swapped (self->class_entry, "stop-search", G_CALLBACK (gtk_popover_popdown), self->class_popover);
  g_signal_connect (self->class_list, "row-activated", G_CALLBACK (class_row_activated), self);
  /* closed (Escape, a click outside, a class chosen): the keys go back to the canvas, not to the
     hidden popover's entry (where B and the digits would be typed) — kill-app.sh found it */
  g_signal_connect_swapped (self->class_popover, "closed", G_CALLBACK (gtk_widget_grab_focus), self);
}

void
qr_canvas_action_pick_class (GtkWidget *widget, const char *name, GVariant *param)
{
  QrCanvas *self = QR_CANVAS (widget);
  QrOverlayBox *b = selected_box (self);
  g_autoptr (GPtrArray) classes = NULL;
  GtkWidget *child;
  double ox, oy, s;
  GdkRectangle rect;

  if (b == NULL || self->history == NULL)
    return;
  ensure_class_popover (self);
  while ((child = gtk_widget_get_first_child (self->class_list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (self->class_list), child);
  classes = ordered_classes (self);
  {
    /* the last class used first, then the classes in use; each of the first nine shows its number key */
    g_autoptr (GHashTable) names = self->class_id > 0 ? qr_catalog_class_names (qr_history_get_catalog (self->history), NULL)
                                                      : NULL;
    const char *last_name = names ? g_hash_table_lookup (names, &self->class_id) : NULL;
    for (int pass = 0; pass < 2; pass++)
      for (guint i = 0; classes != NULL && i < classes->len; i++)
        {
          GtkWidget *row, *box, *label;
          gboolean is_last = last_name != NULL && g_str_equal (classes->pdata[i], last_name);
          if ((pass == 0) != is_last)
            continue;
          row = gtk_list_box_row_new ();
          box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
          label = gtk_label_new (classes->pdata[i]);
          gtk_widget_set_hexpand (label, TRUE);
          gtk_widget_set_halign (label, GTK_ALIGN_START);
          gtk_box_append (GTK_BOX (box), label);
          if (i < 9)
            {
              g_autofree char *key = g_strdup_printf ("%u", i + 1);
              GtkWidget *hint = gtk_label_new (key);
              gtk_widget_add_css_class (hint, "dim-label");
              gtk_widget_add_css_class (hint, "numeric");
              gtk_widget_set_tooltip_text (hint, _("This number key gives the selected label this class"));
              gtk_box_append (GTK_BOX (box), hint);
            }
          gtk_widget_set_name (row, classes->pdata[i]);
          gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
          gtk_list_box_append (GTK_LIST_BOX (self->class_list), row);
        }
  }
  gtk_editable_set_text (GTK_EDITABLE (self->class_entry), "");
  qr_canvas_image_rect (self, &ox, &oy, &s);
  rect.x = (int) (ox + b->box.x1 * s);
  rect.y = (int) (oy + b->box.y1 * s);
  rect.width = MAX (1, (int) ((b->box.x2 - b->box.x1) * s));
  rect.height = MAX (1, (int) ((b->box.y2 - b->box.y1) * s));
  gtk_popover_set_pointing_to (GTK_POPOVER (self->class_popover), &rect);
  gtk_popover_popup (GTK_POPOVER (self->class_popover));
  gtk_widget_grab_focus (self->class_entry);
}
