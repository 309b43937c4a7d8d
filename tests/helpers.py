"""Helpers shared by the tests (importable as ``tests.helpers``)."""
import importlib.util
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np


def write_mura_fixture(root: str,
                       studies: Optional[List[Tuple[str, str, str, int,
                                                    int]]] = None,
                       size: Tuple[int, int] = (48, 64),
                       seed: int = 0) -> Dict[str, List[str]]:
    """Write a tiny MURA-v1.1 layout with header-less CSVs.

    Args:
        root: Folder that will contain ``MURA-v1.1/``.
        studies: ``(split, part, patient, study_number, label, n_views)``.
        size: Image ``(height, width)``.
        seed: Pixel RNG seed.

    Returns:
        dict: ``split -> list of image paths`` as written in the CSVs.
    """
    if studies is None:
        studies = [
            ('train', 'XR_WRIST', 'patient00001', 1, 1, 2),
            ('train', 'XR_WRIST', 'patient00002', 1, 0, 1),
            ('train', 'XR_HAND', 'patient00003', 1, 1, 3),
            ('train', 'XR_ELBOW', 'patient00003', 1, 0, 2),
            ('valid', 'XR_WRIST', 'patient00010', 1, 1, 2),
            ('valid', 'XR_HAND', 'patient00011', 1, 0, 1),
        ]
    rng = np.random.default_rng(seed)
    images: Dict[str, List[str]] = {'train': [], 'valid': []}
    study_rows: Dict[str, List[str]] = {'train': [], 'valid': []}
    for split, part, patient, number, label, n_views in studies:
        suffix = 'positive' if label else 'negative'
        study = f'MURA-v1.1/{split}/{part}/{patient}/study{number}_{suffix}/'
        os.makedirs(osp.join(root, study), exist_ok=True)
        study_rows[split].append(f'{study},{label}')
        for view in range(1, n_views + 1):
            rel = f'{study}image{view}.png'
            img = rng.integers(0, 256, size, dtype=np.uint8)
            cv2.imwrite(osp.join(root, rel), img)
            images[split].append(rel)
    for split in ('train', 'valid'):
        base = osp.join(root, 'MURA-v1.1')
        with open(osp.join(base, f'{split}_image_paths.csv'), 'w') as f:
            f.write(''.join(p + '\n' for p in images[split]))
        with open(osp.join(base, f'{split}_labeled_studies.csv'), 'w') as f:
            f.write(''.join(r + '\n' for r in study_rows[split]))
    return images


def write_synthetic_mura(root: str) -> str:
    """Write a tiny synthetic MURA set with the project's generator.

    19 train images in 8 studies and 13 valid images (an odd count, so
    distributed evaluation pads) in 6 studies, all hands and wrists of
    96-160 px, so training takes seconds.
    """
    from radplugins.datasets.synthetic import (SyntheticMuraConfig,
                                               generate_synthetic_mura)
    cfg = SyntheticMuraConfig(
        train_studies=8,
        valid_studies=6,
        body_parts=('XR_HAND', 'XR_WRIST'),
        long_side_range=(96, 160),
        positive_fraction=0.5,
        seed=15)
    generate_synthetic_mura(root, cfg, workers=1)
    return root


def write_dicom(path, pixels, photometric='MONOCHROME2', preamble=True,
                **attrs):
    """Write an uncompressed 16-bit grayscale DICOM file.

    ``attrs`` are set on the dataset (e.g. ``RescaleSlope``,
    ``WindowCenter``); ``preamble=False`` writes a file without the DICOM
    preamble, as some archives do.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (ExplicitVRLittleEndian,
                             SecondaryCaptureImageStorage, generate_uid)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    for key, value in attrs.items():
        setattr(ds, key, value)
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(str(path), enforce_file_format=preamble)
    return str(path)


def write_synthetic_spine(root: str, num_patients: int = 10,
                          seed: int = 0) -> str:
    """Write a tiny synthetic spine set (8/1/1 patients by default)."""
    from radplugins.datasets.synthetic import (SyntheticSpineConfig,
                                               generate_synthetic_spine)
    generate_synthetic_spine(
        root,
        SyntheticSpineConfig(
            num_patients=num_patients, missing_label_rate=0.1, seed=seed))
    return root


def load_tool(relpath: str):
    """Import a script under ``tools/`` (not a package) as a module, to call
    its ``main`` in the test's process."""
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    name = osp.splitext(osp.basename(relpath))[0]
    spec = importlib.util.spec_from_file_location(
        name, osp.join(root, 'tools', relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def benchmark_records(tool: str, *args: str) -> List[dict]:
    """Run ``tools/analysis_tools/<tool>`` with ``args``; it must exit 0.

    Returns:
        list[dict]: The JSON lines it printed, in order.
    """
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    proc = subprocess.run(
        [sys.executable, osp.join('tools', 'analysis_tools', tool), *args],
        cwd=root,
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [
        json.loads(line) for line in proc.stdout.splitlines()
        if line.startswith('{')
    ]


def free_port() -> str:
    """A TCP port nothing listens on now, for a torchrun rendezvous."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


FRACATLAS_HEADER = ('image_id,hand,leg,hip,shoulder,mixed,hardware,multiscan,'
                    'fractured,fracture_count,frontal,lateral,oblique')


def fracatlas_row(image_id: str,
                  parts: Tuple[str, ...],
                  boxes: List[List[float]],
                  fractured: Optional[int] = None,
                  hardware: int = 0,
                  views: Tuple[str, ...] = ('frontal', )) -> dict:
    """One image of a FracAtlas fixture: its dataset.csv fields and boxes.

    ``fractured`` defaults to whether there are boxes; ``boxes`` are COCO
    ``[x, y, w, h]``.
    """
    if fractured is None:
        fractured = int(bool(boxes))
    part_names = ('hand', 'leg', 'hip', 'shoulder', 'mixed')
    view_names = ('frontal', 'lateral', 'oblique')
    fields = ([image_id] + [str(int(p in parts)) for p in part_names] +
              [str(hardware), '0', str(fractured), str(len(boxes))] +
              [str(int(v in views)) for v in view_names])
    return dict(image_id=image_id, fields=fields, boxes=boxes,
                fractured=fractured)


def write_fracatlas_fixture(root: str,
                            rows: Optional[List[dict]] = None,
                            size: Tuple[int, int] = (64, 48),
                            seed: int = 0) -> List[dict]:
    """Write a tiny FracAtlas layout: dataset.csv, JPEGs in
    images/Fractured and images/Non_fractured, and the COCO boxes.

    Args:
        root: The FracAtlas folder to create.
        rows: Outputs of :func:`fracatlas_row`; a default set of ten
            images over all body parts when None.
        size: Image ``(height, width)``.
        seed: Pixel RNG seed.

    Returns:
        list[dict]: The rows written.
    """
    if rows is None:
        rows = [
            fracatlas_row('IMG0000001.jpg', ('hand', ), [[4, 6, 10, 8]]),
            fracatlas_row('IMG0000002.jpg', ('hand', ), []),
            fracatlas_row('IMG0000003.jpg', ('leg', ),
                          [[1, 2, 3, 4], [20, 30, 5, 6]], hardware=1,
                          views=('frontal', 'lateral')),
            fracatlas_row('IMG0000004.jpg', ('leg', ), []),
            fracatlas_row('IMG0000005.jpg', ('hip', ), []),
            fracatlas_row('IMG0000006.jpg', ('shoulder', ), [[0, 0, 48, 64]]),
            fracatlas_row('IMG0000007.jpg', ('hand', 'shoulder', 'mixed'),
                          [], views=('oblique', )),
            fracatlas_row('IMG0000008.jpg', ('leg', 'hip', 'mixed'),
                          [[10, 10, 2.5, 3.5]]),
            fracatlas_row('IMG0000009.jpg', ('leg', ), []),
            fracatlas_row('IMG0000010.jpg', ('hand', ), []),
        ]
    rng = np.random.default_rng(seed)
    for folder in ('Fractured', 'Non_fractured'):
        os.makedirs(osp.join(root, 'images', folder), exist_ok=True)
    coco = dict(images=[], annotations=[],
                categories=[dict(id=0, name='fractured')])
    with open(osp.join(root, 'dataset.csv'), 'w') as f:
        f.write(FRACATLAS_HEADER + '\n')
        for row in rows:
            f.write(','.join(row['fields']) + '\n')
            folder = 'Fractured' if row['fractured'] else 'Non_fractured'
            img = rng.integers(0, 256, size, dtype=np.uint8)
            cv2.imwrite(osp.join(root, 'images', folder, row['image_id']),
                        img)
            if not row['boxes']:
                continue
            image_id = len(coco['images']) + 1
            coco['images'].append(
                dict(id=image_id, width=size[1], height=size[0],
                     file_name=row['image_id']))
            for box in row['boxes']:
                coco['annotations'].append(
                    dict(id=len(coco['annotations']), image_id=image_id,
                         category_id=0, iscrowd=0, bbox=list(box),
                         area=box[2] * box[3], segmentation=[]))
    os.makedirs(osp.join(root, 'Annotations', 'COCO JSON'), exist_ok=True)
    with open(osp.join(root, 'Annotations', 'COCO JSON',
                       'COCO_fracture_masks.json'), 'w') as f:
        json.dump(coco, f)
    return rows


def fake_weights(state_dict, seed: int = 0, large: int = 100_000) -> dict:
    """Stand-ins for a released checkpoint's weights: every floating tensor
    of ``state_dict`` replaced by new random values of the same shape.

    Tensors of more than ``large`` elements repeat one random row (a
    stride-0 view of it), so a VGG19-sized file takes kilobytes on disk
    and loads in milliseconds; every value still differs from the
    model's own.

    Args:
        state_dict (Mapping): Names and tensors (shapes) to imitate.
        seed (int): Seed of the random values.
        large (int): Above this many elements a tensor repeats one row.

    Returns:
        dict: Name -> tensor; integer buffers are copied as they are.
    """
    import torch
    gen = torch.Generator().manual_seed(seed)
    fake = {}
    for key, value in state_dict.items():
        if not value.is_floating_point():
            fake[key] = value.clone()
        elif value.numel() > large and value.dim() > 0:
            row = torch.randn(value.shape[-1], generator=gen)
            fake[key] = row.expand(value.shape)
        else:
            fake[key] = torch.randn(value.shape, generator=gen)
    return fake


def block_network(monkeypatch) -> List[tuple]:
    """Make every socket connection in this process fail, and record it.

    Returns:
        list: The addresses something tried to connect to (tests assert it
        stays empty where no network may be touched).
    """
    attempts: List[tuple] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f'network disabled in tests: {address}')

    def resolve(host, *args, **kwargs):
        attempts.append((host, ))
        raise socket.gaierror(socket.EAI_NONAME,
                              f'network disabled in tests: {host}')

    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket.socket, 'connect_ex', refuse)
    monkeypatch.setattr(socket, 'getaddrinfo', resolve)
    return attempts
