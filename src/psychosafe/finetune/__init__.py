"""LoRA / QLoRA fine-tuning on the corpus (TRL ``SFTTrainer`` + PEFT): config, data mix, training."""
