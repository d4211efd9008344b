// The precompiled header of every LibTorch-using target (cmake/NmoeTorch.cmake).
// Narrow LibTorch headers only: <torch/torch.h> doubles compile time and memory.
// Code still includes what it uses; this header only makes those includes cheap.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>
#include <torch/types.h>
