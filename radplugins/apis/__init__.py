"""Inference on files (PNG/JPG and DICOM radiographs, disc volumes) without
a runner."""
from .disc_inference import (body_boxes_of, build_disc_pipeline, disc_key,
                             disc_prediction_to_dict, inference_disc_volume,
                             read_body_boxes)
from .inference import (apply_window, build_inference_pipeline,
                        inference_model, init_model, init_model_or_exit,
                        is_dicom_file, list_image_files, load_image_any,
                        mirrored_output_names, positive_class_index,
                        prediction_to_dict, read_dicom)

__all__ = [
    'body_boxes_of', 'build_disc_pipeline', 'disc_key',
    'disc_prediction_to_dict', 'inference_disc_volume', 'read_body_boxes',
    'apply_window', 'build_inference_pipeline', 'inference_model',
    'init_model', 'init_model_or_exit', 'is_dicom_file', 'list_image_files',
    'load_image_any', 'mirrored_output_names', 'positive_class_index',
    'prediction_to_dict', 'read_dicom'
]
from .feature_extraction import (build_split_loader, cache_path,  # noqa: E402
                                 dataset_fingerprint, empty_features,
                                 extract_features,
                                 feature_cache_key, file_digest,
                                 load_or_extract_features, pooled_features,
                                 split_loader_cfg)
from .feature_svm import (build_bagged_svm, fit_body_parts,  # noqa: E402
                          format_svm_table, group_by_body_part)

__all__ += [
    'build_split_loader', 'cache_path', 'dataset_fingerprint',
    'empty_features', 'extract_features', 'feature_cache_key', 'file_digest',
    'load_or_extract_features', 'pooled_features', 'split_loader_cfg',
    'build_bagged_svm', 'fit_body_parts', 'format_svm_table',
    'group_by_body_part'
]
