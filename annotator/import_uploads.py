"""Where a background import's upload waits for the worker that imports it.

With local checkpoint storage (one machine, or folders shared between hosts) the upload is a
file under the data dir's `imports` folder, and the job's upload_path is its path. With an S3
store no two hosts share a disk, so the web host puts the upload in the store's bucket, as
trainers put checkpoints, and upload_path holds a reference, `store:<key>`; the worker, on any
host, copies it to a temporary file of its own first (an import reads its file twice, seeking).
"""

import os
import tempfile
import uuid
from contextlib import contextmanager

from django.conf import settings

from rewardtrain import checkpoint_store

IN_STORE = "store:"
UPLOADS = ".uploads"  # the store's objects for uploads: `.uploads/<uuid>`


def _local_folder():
    folder = settings.DATA_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_save(upload) -> str:
    """Keep the uploaded file (a Django UploadedFile) where every worker reaches it; what
    the job's upload_path records."""
    store = checkpoint_store.store()
    if store.remote:
        key = f"{UPLOADS}/{uuid.uuid4().hex}"
        upload.seek(0)
        store.put_object(key, upload)
        return IN_STORE + key
    path = _local_folder() / f"{uuid.uuid4().hex}.upload"
    with open(path, "wb") as out:
        out.writelines(upload.chunks())
    return str(path)


@contextmanager
def upload_opened(reference):
    """The upload as a seekable binary file; OSError when it cannot be read."""
    if not reference.startswith(IN_STORE):
        with open(reference, "rb") as stream:
            yield stream
        return
    # In this host's data dir, sized for uploads; removed when closed, whatever happens.
    with tempfile.TemporaryFile(dir=_local_folder()) as copy:
        checkpoint_store.store().download_object(reference.removeprefix(IN_STORE), copy)
        copy.seek(0)
        yield copy


def upload_remove(reference):
    """Remove the upload; nothing happens when it is already gone."""
    if reference.startswith(IN_STORE):
        checkpoint_store.store().delete_object(reference.removeprefix(IN_STORE))
        return
    try:
        os.remove(reference)
    except FileNotFoundError:
        pass
