"""Inference on files (PNG/JPG and DICOM radiographs) without a runner."""
from .inference import (apply_window, build_inference_pipeline,
                        inference_model, init_model, is_dicom_file,
                        list_image_files, load_image_any,
                        positive_class_index, prediction_to_dict, read_dicom)

__all__ = [
    'apply_window', 'build_inference_pipeline', 'inference_model',
    'init_model', 'is_dicom_file', 'list_image_files', 'load_image_any',
    'positive_class_index', 'prediction_to_dict', 'read_dicom'
]
