"""A Runner whose checkpoint loads are checked (tools/train.py, test.py)."""
from typing import Any, Callable, Dict, Union

from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from radplugins.utils.checkpoint_loading import (DEFAULT_REVISE_KEYS,
                                                 check_training_checkpoint,
                                                 load_state_dict_checked,
                                                 read_checkpoint)

ALLOW_MISSING_KEY = 'load_from_allow_missing'
ALLOW_UNEXPECTED_KEY = 'load_from_allow_unexpected'


@RUNNERS.register_module()
class CheckpointCheckedRunner(Runner):
    """MMEngine's Runner, refusing checkpoints that do not fit the model.

    MMEngine's ``Runner.load_checkpoint`` loads non-strictly: a checkpoint
    of another model only logs "do not match exactly", and testing or
    fine-tuning then runs on a partly random network. Here every load
    (``load_from`` in ``train()``, ``test()`` and ``val()``, and
    ``resume``) goes through
    :func:`radplugins.utils.checkpoint_loading.load_state_dict_checked`:

    * **testing, validation, resuming**: the file must hold exactly the
      model's weights (no missing, unexpected or differently shaped keys);
      ``module.`` prefixes, model wrappers (DDP) and test-time-augmentation
      wrappers (``tools/test.py --tta``) are handled as MMEngine handles
      them;
    * **``load_from`` in training** (fine-tuning): the same, except for
      keys under the prefixes the config lists:

      - ``load_from_allow_missing`` (list[str]): prefixes of the model's
        parameter names the file may lack or hold with another shape;
        they keep their initial values. The usual case is a new head
        (``load_from_allow_missing = ['head.']``) or a detector with
        another number of classes
        (``['roi_head.bbox_head.fc_cls.', 'roi_head.bbox_head.fc_reg.']``).
      - ``load_from_allow_unexpected`` (list[str]): prefixes of the file's
        keys the model may lack (e.g. ``['roi_head.mask_head.']`` to start
        a Faster R-CNN from a Mask R-CNN). Unexpected keys are an error
        unless listed: weights that have no place in the model mean the
        file is probably not the one intended.

      Both default to nothing; allowed differences are logged.

    ``--resume`` also checks that the file is a training checkpoint
    (epoch, iteration, optimizer and logger state), and says to use
    ``load_from`` for one that holds weights only. Unreadable files
    (empty, truncated, holding objects outside the safe loader's
    allow-list) raise a :class:`~radplugins.utils.CheckpointError` naming
    the file, as every load does.

    Build it with :func:`build_runner`.
    """

    _in_train = False
    _resuming = False

    def train(self):
        """Train, with ``load_from`` checked against the allowances."""
        self._in_train = True
        try:
            return super().train()
        finally:
            self._in_train = False

    def resume(self, filename: str, *args, **kwargs) -> None:
        """Resume a run; the file must be a training checkpoint of it."""
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = True,
                        revise_keys: list = list(DEFAULT_REVISE_KEYS)
                        ) -> Dict[str, Any]:
        """Read a checkpoint and load it into the model, checked.

        Args:
            filename (str): The checkpoint.
            map_location (str | Callable): As :func:`torch.load`.
            strict (bool): Kept for MMEngine's signature; the check is
                always made (the config's ``load_from_allow_*`` prefixes
                are what relaxes it, and only for ``load_from`` in
                training).
            revise_keys (list): ``(pattern, replacement)`` pairs applied to
                the file's keys. Defaults to stripping ``module.``.

        Returns:
            dict: The checkpoint.

        Raises:
            CheckpointError: If the file cannot be read, does not fit the
                model, or (resuming) is not a training checkpoint.
        """
        checkpoint = read_checkpoint(filename, map_location)
        if self._resuming:
            check_training_checkpoint(checkpoint, filename)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) \
            else self.model
        fine_tuning = self._in_train and not self._resuming
        if fine_tuning:
            allow_missing = self.cfg.get(ALLOW_MISSING_KEY)
            allow_unexpected = self.cfg.get(ALLOW_UNEXPECTED_KEY)
            hint = ('If the model is meant to differ from the checkpoint\'s '
                    '(fine-tuning with a new part), list the prefixes of '
                    'its parameters the file may lack in the config\'s '
                    f'{ALLOW_MISSING_KEY} (e.g. {ALLOW_MISSING_KEY}='
                    f'[\'head.\']) and of the file\'s keys the model may '
                    f'lack in {ALLOW_UNEXPECTED_KEY}.')
        else:
            allow_missing = allow_unexpected = ()
            hint = ('Use the config it was trained with.'
                    if not self._resuming else '')
        load_state_dict_checked(
            model,
            checkpoint,
            filename,
            allow_missing=allow_missing,
            allow_unexpected=allow_unexpected,
            revise_keys=revise_keys,
            hint=hint,
            logger=self.logger)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint


def build_runner(cfg: Config) -> CheckpointCheckedRunner:
    """The Runner the tools use: :class:`CheckpointCheckedRunner`.

    Args:
        cfg (Config): The config. A ``runner_type`` in it must name a
            subclass of :class:`CheckpointCheckedRunner`.

    Returns:
        CheckpointCheckedRunner: The runner.

    Raises:
        TypeError: If ``runner_type`` builds another kind of runner (its
            checkpoint loads would not be checked).
    """
    if 'runner_type' not in cfg:
        return CheckpointCheckedRunner.from_cfg(cfg)
    runner = RUNNERS.build(cfg)
    if not isinstance(runner, CheckpointCheckedRunner):
        raise TypeError(
            f'runner_type={cfg.runner_type!r} builds a '
            f'{type(runner).__name__}, which loads checkpoints without '
            'checking that they fit the model; derive it from '
            'radplugins.engine.CheckpointCheckedRunner')
    return runner
