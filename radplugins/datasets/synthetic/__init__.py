"""Synthetic data generators that write the real datasets' on-disk formats."""
from .coco_export import (COCO_CLASSES, coco_annotation_file,
                          ground_truth_to_coco, write_coco_annotations)
from .mura_generator import (FLAG_CORNERS, GENERATOR_VERSION,
                             GROUND_TRUTH_FILE, SyntheticMuraConfig,
                             flag_probability, generate_synthetic_mura,
                             plan_dataset, render_image)

__all__ = [
    'COCO_CLASSES', 'coco_annotation_file', 'ground_truth_to_coco',
    'write_coco_annotations',
    'FLAG_CORNERS', 'GENERATOR_VERSION', 'GROUND_TRUTH_FILE',
    'SyntheticMuraConfig', 'flag_probability', 'generate_synthetic_mura',
    'plan_dataset', 'render_image'
]
from .spine_generator import (CSV_COLUMNS, DISC_LEVELS, LESION_TASKS,
                              SPINE_NUM_CLASSES, SPINE_TASKS,
                              SyntheticSpineConfig, generate_synthetic_spine,
                              render_disc)

__all__ += [
    'CSV_COLUMNS', 'DISC_LEVELS', 'LESION_TASKS', 'SPINE_NUM_CLASSES',
    'SPINE_TASKS', 'SyntheticSpineConfig', 'generate_synthetic_spine',
    'render_disc'
]
