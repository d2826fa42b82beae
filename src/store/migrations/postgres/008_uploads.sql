-- Uploaded images (POST /upload-image), owned by one user. The file lives at
-- <data dir>/uploads/<user_id>/<sha256>.<ext> and file_path is the seed's "filePath" for it,
-- /uploads/video-generator/<user_id>/<sha256>.<ext>: the same image uploaded twice by a user
-- is one row and one file. A generation keeps the file_path it was made with, so the file
-- stays while a generation refers to it, even after its upload row is deleted.
CREATE TABLE uploads (
  id          text COLLATE "C" PRIMARY KEY,
  user_id     text COLLATE "C" NOT NULL REFERENCES users(id),
  sha256      text COLLATE "C" NOT NULL CHECK (length(sha256) = 64),
  file_path   text COLLATE "C" NOT NULL,
  file_name   text NOT NULL,
  mime_type   text NOT NULL CHECK (mime_type IN ('image/jpeg', 'image/png', 'image/webp')),
  width       integer NOT NULL CHECK (width > 0),
  height      integer NOT NULL CHECK (height > 0),
  size_bytes  bigint NOT NULL CHECK (size_bytes > 0),
  created_at  bigint NOT NULL,
  UNIQUE (user_id, sha256),
  UNIQUE (user_id, file_path)
);
CREATE INDEX uploads_by_user ON uploads(user_id, id);
CREATE INDEX generations_start_image ON generations(start_image_path) WHERE start_image_path IS NOT NULL;
CREATE INDEX generations_end_image ON generations(end_image_path) WHERE end_image_path IS NOT NULL;
