/* qr-clip.h: CLIP's text tokenizer — byte-level BPE over CLIP's vocabulary (49,408 tokens: 256
 * bytes, their end-of-word forms, 48,894 merges, start and end of text), read from the model
 * folder's bpe_simple_vocab_16e6.txt.gz (OpenAI's file) or tokenizer.json (Hugging Face's). Text
 * is cleaned as CLIP does (HTML entities, whitespace, lower case), split into words, numbers and
 * punctuation, and each piece merged by rank. */
#pragma once

#include "qr-engine.h"
#include "qr-image.h"

G_BEGIN_DECLS

#define QR_CLIP_CONTEXT 77
/* Images per run of the image tower when a collection's embeddings are computed. */
#define QR_CLIP_BATCH 8

typedef struct _QrClipTokenizer QrClipTokenizer;

/* From OpenAI's merges file (gzip, one merge per line after a header line) or a Hugging Face
 * tokenizer.json (model.vocab and model.merges), told apart by the name's ending. */
QrClipTokenizer *qr_clip_tokenizer_load   (const char       *path,
                                           GError          **error);
void             qr_clip_tokenizer_free   (QrClipTokenizer  *self);
/* The token ids of text, without the start and end tokens (a GArray of int). */
GArray          *qr_clip_tokenizer_encode (QrClipTokenizer  *self,
                                           const char       *text);
/* CLIP's model input: start, the text's tokens (cut to fit), end, then pad up to
 * QR_CLIP_CONTEXT; returns how many are not padding. ids holds QR_CLIP_CONTEXT. */
int              qr_clip_tokenize         (QrClipTokenizer  *self,
                                           const char       *text,
                                           int               pad_id,
                                           int              *ids);
int              qr_clip_tokenizer_start  (QrClipTokenizer  *self);
int              qr_clip_tokenizer_end    (QrClipTokenizer  *self);

/* A CLIP model: an image tower and a text tower from ONNX, in one folder as transformers.js lays
 * them out (onnx/vision_model.onnx, onnx/text_model.onnx — or beside the folder's other files —,
 * tokenizer.json or bpe_simple_vocab_16e6.txt.gz, preprocessor_config.json). Each tower has one
 * input (a text model's attention_mask input is bound to ones: CLIP's causal attention makes the
 * end token's output independent of the padding) and gives the projected embedding as its output
 * named image_embeds / text_embeds, or its only output. */
typedef struct _QrClip QrClip;

QrClip          *qr_clip_load             (const char       *dir,
                                           QrDevice          device,
                                           GError          **error);
/* The tokenizer and the text tower now, the image tower on its first use: what a search by words
 * needs, in about half the time and memory (errors of the image tower are then said at that use). */
QrClip          *qr_clip_load_text        (const char       *dir,
                                           QrDevice          device,
                                           GError          **error);
/* The same as qr_clip_load, its towers on n_threads CPU threads (0: one per core) where they run on the CPU. */
QrClip          *qr_clip_load_threads     (const char       *dir,
                                           QrDevice          device,
                                           int               n_threads,
                                           GError          **error);
/* The same on CUDA at a precision (FP32, the others' default; TF32 or FP16: the engine's convolutions
 * in FP16 and its products on TF32 tensor cores). The CPU computes in float32 whatever it says. */
QrClip          *qr_clip_load_full        (const char       *dir,
                                           QrDevice          device,
                                           QrPrecision       precision,
                                           int               n_threads,
                                           GError          **error);
void             qr_clip_free             (QrClip           *self);
/* Where its towers run: "cpu", or "cuda:0 NVIDIA H100 80GB HBM3 fp32" (qr_model_get_device's). */
const char      *qr_clip_get_device       (QrClip           *self);
/* The embedding's length (both towers give the same). */
int              qr_clip_get_dim          (QrClip           *self);
/* The image tower's input side (the crop). */
int              qr_clip_get_image_size   (QrClip           *self);
/* An image as the image tower takes it: the shorter side resized to the preprocessor's size
 * (bicubic), the centre cropped, scaled to 0..1, less the mean, over the deviation; size × size ×
 * 3 floats, channels last. */
void             qr_clip_preprocess       (QrClip           *self,
                                           const QrImage    *image,
                                           float            *input);
/* The projected embedding (not normalised), dim floats. */
gboolean         qr_clip_embed_image      (QrClip           *self,
                                           const QrImage    *image,
                                           float            *embedding,
                                           GError          **error);
/* A prepared input (qr_clip_preprocess) through the image tower. */
gboolean         qr_clip_embed_input      (QrClip           *self,
                                           const float      *input,
                                           float            *embedding,
                                           GError          **error);
/* n prepared inputs (n × crop × crop × 3) through the image tower, QR_CLIP_BATCH at a time where
 * the export allows it (qr_clip_get_batch), else one at a time; n × dim values to embeddings. */
gboolean         qr_clip_embed_inputs     (QrClip           *self,
                                           const float      *inputs,
                                           int               n,
                                           float            *embeddings,
                                           GError          **error);
/* The batch qr_clip_embed_inputs runs: QR_CLIP_BATCH, 1 when the export cannot take more, 0
 * before it has been called with more than one input. */
int              qr_clip_get_batch        (QrClip           *self);
/* A text's embedding; ids (QR_CLIP_CONTEXT, may be NULL) receives the tokens it was given. */
gboolean         qr_clip_embed_text       (QrClip           *self,
                                           const char       *text,
                                           float            *embedding,
                                           int              *ids,
                                           GError          **error);
QrClipTokenizer *qr_clip_get_tokenizer    (QrClip           *self);
/* Each patch's embedding (a ViT's tokens after the class token, through the final layer norm and
 * the projection: grid × grid rows of dim floats, row by row over the crop) for a prepared input;
 * an error for an image tower that is not a ViT. */
float           *qr_clip_patch_embeddings (QrClip           *self,
                                           const float      *input,
                                           int              *grid,
                                           GError          **error);
/* Where the crop lies in an image: its top-left corner and side, in the image's pixels. */
void             qr_clip_crop_box         (QrClip           *self,
                                           const QrImage    *image,
                                           double           *x0,
                                           double           *y0,
                                           double           *side);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrClipTokenizer, qr_clip_tokenizer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrClip, qr_clip_free)

G_END_DECLS
