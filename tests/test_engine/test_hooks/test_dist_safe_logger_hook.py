import json
import os.path as osp
from unittest import mock

import pytest
from mmengine.logging import MessageHub, MMLogger
from mmengine.runner import LogProcessor
from mmpretrain.registry import HOOKS

import radplugins.engine.hooks.dist_safe_logger_hook as hook_module


class FakeRunner:
    """The attributes LoggerHook.after_test_epoch reads."""

    def __init__(self, log_dir):
        self.log_dir = str(log_dir)
        self.timestamp = 'ts'
        self.test_dataloader = [0, 1]
        self.log_processor = LogProcessor()
        self.logger = MMLogger.get_instance('test_dist_safe_logger_hook')
        self.message_hub = MessageHub.get_instance('test_dist_safe_hook')
        self.message_hub.update_scalar('test/mura/study/kappa', 0.25)
        self.iter = 0
        self.epoch = 0


@pytest.mark.parametrize('main', [True, False])
def test_only_the_main_process_writes_the_json(tmp_path, main):
    hook = HOOKS.build(dict(type='DistSafeLoggerHook'))
    runner = FakeRunner(tmp_path)
    hook.json_log_path = 'ts.json'
    with mock.patch.object(hook_module, 'is_main_process',
                           return_value=main), \
            mock.patch.object(runner.log_processor, 'get_log_after_epoch',
                              return_value=({
                                  'mura/study/kappa': 0.25
                              }, 'kappa 0.25')) as log_after, \
            mock.patch.object(runner.logger, 'info') as info:
        hook.after_test_epoch(runner, {'mura/study/kappa': 0.25})
    assert log_after.called and info.call_args[0][0] == 'kappa 0.25'
    path = osp.join(str(tmp_path), 'ts.json')
    assert osp.exists(path) == main
    if main:
        with open(path) as f:
            assert json.loads(f.read()) == {'mura/study/kappa': 0.25}
