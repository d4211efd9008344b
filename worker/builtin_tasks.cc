// The task kinds linked into nmoe-run and nmoe-worker.
#include "allocator/allocate_task.h"
#include "profiler/profile_task.h"
#include "trainer/evaluate_task.h"
#include "trainer/pretrain_task.h"
#include "trainer/train_task.h"
#include "worker/task_registry.h"

namespace nmoe::worker {

TaskRegistry BuiltinTasks() {
  TaskRegistry registry;
  registry.Register(v1::JobSpec::kPretrain, [] { return trainer::NewPretrainTask(); });
  registry.Register(v1::JobSpec::kEvaluate, [] { return trainer::NewEvaluateTask(); });
  registry.Register(v1::JobSpec::kTrain, [] { return trainer::NewTrainTask(); });
  registry.Register(v1::JobSpec::kProfile, [] { return profiler::NewProfileTask(); });
  registry.Register(v1::JobSpec::kAllocate, [] { return allocator::NewAllocateTask(); });
  return registry;
}

}  // namespace nmoe::worker
